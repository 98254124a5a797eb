"""Writing the cycle journal: one entry per step, with its numbers and links."""

from __future__ import annotations

from django.db import transaction

from jobs import broadcast
from professor.models import JournalEntry


def write(cycle_id: int, step: str, outcome: str, message: str, *, numbers: dict | None = None,
          links: list[dict] | None = None) -> JournalEntry:
    """Record one step of a cycle and tell the pages that watch it."""
    entry = JournalEntry.objects.create(cycle_id=cycle_id, step=step, outcome=outcome, message=message[:1000],
                                        numbers=_plain(numbers or {}), links=links or [])
    payload = {"type": "cycle.journal", **entry.to_dict()}
    transaction.on_commit(lambda: broadcast.publish_job_events(f"cycle.{cycle_id}", [payload]))
    return entry


def record_lost(cycle_id: int) -> JournalEntry:
    """The reaper ended the cycle as lost: say so where it stopped, and free the lease for the next one."""
    from professor import lease
    from professor.models import Cycle, Step, StepOutcome

    last = JournalEntry.objects.filter(cycle_id=cycle_id).order_by("-at", "-id").values_list("step", flat=True).first()
    beat = Cycle.objects.filter(pk=cycle_id).values_list("heartbeat_at", flat=True).first()
    when = beat.strftime("%Y-%m-%d %H:%M:%S %Z") if beat else "unknown"
    entry = write(cycle_id, last or Step.LEASE, StepOutcome.FAILED,
                  f"lost: its worker stopped reporting (last sign of life {when}) and the reaper ended the cycle; "
                  "nothing of it was promoted", numbers={"last_heartbeat": when})
    lease.release(cycle_id)
    return entry


def link(label: str, url: str) -> dict:
    return {"label": label, "url": url}


def _plain(numbers: dict) -> dict:
    """Numbers as JSON can hold them (dates and other objects become strings)."""
    plain = {}
    for key, value in numbers.items():
        if isinstance(value, int | float | str | bool | type(None) | list | dict):
            plain[key] = value
        else:
            plain[key] = str(value)
    return plain
