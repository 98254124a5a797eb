"""Writing the cycle journal: one entry per step, with its numbers and links."""

from __future__ import annotations

from django.db import transaction

from jobs import broadcast
from professor.models import JournalEntry, job_state


def write(cycle_id: int, step: str, outcome: str, message: str, *, numbers: dict | None = None,
          links: list[dict] | None = None, job=None) -> JournalEntry:
    """Record one step of a cycle and tell the pages that watch it.

    `job`: the job this step starts (a dataset build, a training run, an evaluation); the entry's
    label then follows the job's state, and the cycle's socket relays that job's progress.
    """
    entry = JournalEntry.objects.create(cycle_id=cycle_id, step=step, outcome=outcome, message=message[:1000],
                                        numbers=_plain(numbers or {}), links=links or [],
                                        job_kind=job.group_prefix if job is not None else "",
                                        job_id=job.pk if job is not None else None)
    payload = {"type": "cycle.journal", **entry.to_dict()}
    if job is not None:
        payload["job"] = {k: v for k, v in job_state(step, job).items() if k != "type"}
    transaction.on_commit(lambda: broadcast.publish_job_events(f"cycle.{cycle_id}", [payload]))
    return entry


def record_lost(cycle_id: int) -> JournalEntry:
    """The reaper ended the cycle as lost: say so where it stopped."""
    from professor.models import Cycle, Step, StepOutcome

    last = JournalEntry.objects.filter(cycle_id=cycle_id).order_by("-at", "-id").values_list("step", flat=True).first()
    beat = Cycle.objects.filter(pk=cycle_id).values_list("heartbeat_at", flat=True).first()
    when = beat.strftime("%Y-%m-%d %H:%M:%S %Z") if beat else "unknown"
    return write(cycle_id, last or Step.MEMORY, StepOutcome.FAILED,
                 f"lost: its worker stopped reporting (last sign of life {when}) and the reaper ended the cycle; "
                 "nothing of it was promoted", numbers={"last_heartbeat": when})


def record_ask(words: str, answer_text: str, *, outcome: str, user=None, asker: str = "", numbers: dict | None = None,
               links: list[dict] | None = None, job=None) -> JournalEntry:
    """Keep an answer to the agent's command words: who asked, what, and what the Professor said."""
    from professor.models import Step

    return JournalEntry.objects.create(
        cycle=None, step=Step.ASK, outcome=outcome, message=_cut(answer_text, 1000), numbers=_plain(numbers or {}),
        links=links or [], words=_cut(words.strip(), 500), asker=asker[:150],
        asked_by=user if user is not None and user.is_authenticated else None,
        job_kind=job.group_prefix if job is not None else "", job_id=job.pk if job is not None else None)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def link(label: str, url: str) -> dict:
    return {"label": label, "url": url}


def run_link(run) -> dict:
    return link(f"run {run.pk}", run.get_absolute_url())


def _plain(numbers: dict) -> dict:
    """Numbers as JSON can hold them (dates and other objects become strings)."""
    plain = {}
    for key, value in numbers.items():
        if isinstance(value, int | float | str | bool | type(None) | list | dict):
            plain[key] = value
        else:
            plain[key] = str(value)
    return plain
