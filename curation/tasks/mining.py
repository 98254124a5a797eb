"""Celery tasks for git mining."""

from celery import shared_task

from curation.services.git_mining import run_mining

__all__ = ["execute_mining_task"]


@shared_task(name="curation.execute_mining", bind=True, acks_late=True)
def execute_mining_task(self, mining_id: int) -> dict | None:
    """Run a queued mining job. Safe to repeat: only the worker that claims the row mines."""
    return run_mining(mining_id, worker=getattr(self.request, "hostname", None) or "")
