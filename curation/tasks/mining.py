"""Celery tasks for git mining."""

from celery import shared_task

from curation.services.git_mining import run_mining

__all__ = ["mine_repository_task"]


@shared_task(name="curation.mine_repository")
def mine_repository_task(repository_id: int) -> dict | None:
    """Mine a queued repository. Safe to repeat: only the run that claims the row mines."""
    return run_mining(repository_id)
