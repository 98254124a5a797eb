"""The reaper's periodic task."""

from celery import shared_task

from jobs.reaper import reap


@shared_task(name="jobs.reap")
def reap_task() -> dict:
    """Mark stale jobs lost, send queued jobs whose message may be gone, remove leftovers (safe to repeat)."""
    return reap()
