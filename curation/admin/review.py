"""Admin for the review area."""
