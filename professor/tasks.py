"""Celery tasks of the Professor: take a cycle's first steps (queued by start_cycle), the periodic check, and
the delayed note that no worker has taken a cycle's job."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="professor.run_cycle", bind=True, acks_late=True)
def run_cycle(self, cycle_id: int):
    """Claim one cycle and take its steps up to its first job; a second delivery finds it claimed and does nothing."""
    from professor.cycle import run_cycle as run

    cycle = run(cycle_id, worker=getattr(self.request, "hostname", None) or "")
    return cycle.status if cycle else None


@shared_task(name="professor.check")
def check():
    """The periodic check (django-celery-beat): start a cycle unless one of the line is active."""
    from professor.cycle import CycleBusy, start_cycle
    from professor.models import Trigger

    try:
        cycle = start_cycle(None, trigger=Trigger.SCHEDULE)
    except CycleBusy as exc:
        logger.info("periodic check: %s", exc)
        return str(exc)
    return f"cycle {cycle.pk} queued"


@shared_task(name="professor.note_unclaimed")
def note_unclaimed(cycle_id: int, kind: str, job_id: int):
    """Journal that no worker has taken the job the cycle waits for, if it is still queued."""
    from professor.cycle import note_unclaimed as note

    note(cycle_id, kind, job_id)

