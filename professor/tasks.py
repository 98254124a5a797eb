"""Celery tasks of the Professor: run one cycle (queued by start_cycle) and the periodic check."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="professor.run_cycle", bind=True, acks_late=True)
def run_cycle(self, cycle_id: int):
    """Claim and run one cycle; a second delivery finds it claimed and does nothing."""
    from professor.cycle import run_cycle as run

    cycle = run(cycle_id, worker=getattr(self.request, "hostname", None) or "")
    return cycle.status if cycle else None


@shared_task(name="professor.check")
def check():
    """The periodic check (django-celery-beat): start a cycle unless one holds the lease."""
    from professor.cycle import start_cycle
    from professor.lease import LeaseBusy
    from professor.models import Trigger

    try:
        cycle = start_cycle(None, trigger=Trigger.SCHEDULE)
    except LeaseBusy as exc:
        logger.info("periodic check: %s", exc)
        return str(exc)
    return f"cycle {cycle.pk} queued"
