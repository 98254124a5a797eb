"""Curation's Celery tasks (one module per workflow), imported here for autodiscovery."""

from curation.tasks.datasets import *  # noqa: F401,F403
from curation.tasks.mining import *  # noqa: F401,F403
