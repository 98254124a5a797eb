"""Admin for the git area."""
