"""Admin for the datasets area."""
