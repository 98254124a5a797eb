"""Periodic curation housekeeping."""

from celery import shared_task

from curation.services.housekeeping import fail_stale_jobs

__all__ = ["fail_stale_jobs_task"]


@shared_task(name="curation.fail_stale_jobs")
def fail_stale_jobs_task() -> dict:
    """Fail dataset builds and minings abandoned by a vanished worker (safe to repeat)."""
    return fail_stale_jobs()
