"""Admin registrations, one module per area."""

from curation.admin import datasets, git, review  # noqa: F401
