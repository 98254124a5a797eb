"""The one job lifecycle: queue, claim, progress, heartbeat, finish, fail, cancel, requeue, reap.

Every state change is a conditional update on the current status that checks exactly one
row changed, so two workers (or a worker and the reaper, or a cancel and a claim) never
both move the same job. What changed is broadcast to the job's group after the
transaction commits (jobs.broadcast), so a page never sees a state it cannot read back.

Functions take the job's model class and primary key: tasks take ids, and a worker never
needs a fresh instance to report progress.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import broadcast, queueing
from jobs.models import ACTIVE_STATUSES, CLAIMED_STATUSES, RETRYABLE_STATUSES, Job, JobStatus

logger = logging.getLogger(__name__)


class JobRefused(Exception):
    """A state change that does not apply to the job's current status."""


# Functions that redact credentials from the text a job stores about how it ended (`error`,
# `human_error`): an exception's message can carry what the job was given (a URL with a
# password, a token). The scrubber belongs to curation, above this app, so curation's
# AppConfig.ready() appends it here.
text_scrubbers: list[Callable[[str], str]] = []


# Called as hook(model, pk, status) once a job has ended (succeeded, failed, cancelled or lost) and that
# has committed. Apps above append to it in AppConfig.ready() (the Professor's cycle follows its jobs
# so); a failing hook is logged and never undoes the end.
on_ended: list[Callable] = []


def scrub(text: str) -> str:
    """`text` passed through every registered scrubber."""
    for scrubber in text_scrubbers:
        text = scrubber(text)
    return text


# ---------------------------------------------------------------------------- broadcasting
def announce(model: type[Job], pk: int) -> None:
    """After commit: send the job's status message to its group and tell the Overview."""
    def send():
        job = model.objects.filter(pk=pk).first()
        if job is not None:
            broadcast.publish_job_events(job.group_name, [job.status_payload()])
        broadcast.publish_overview()
    transaction.on_commit(send)


def _ended(model: type[Job], pk: int, status: str) -> None:
    """After commit: call every on_ended hook for the job that just ended."""
    def call():
        for hook in list(on_ended):
            try:
                hook(model, pk, status)
            except Exception:
                logger.exception("on_ended hook %r failed for %s %s", hook, model.__name__, pk)
    transaction.on_commit(call)


# ---------------------------------------------------------------------------- queueing
def enqueue(job: Job) -> None:
    """Hand the job to its Celery queue once the current transaction commits.

    The database is the source of truth: if the broker is down the row stays queued and
    the sweep (jobs.reaper.sweep_queued) sends it again later; a duplicate message is
    harmless because only the worker that claims the row runs it.
    """
    model, pk = type(job), job.pk
    model.objects.filter(pk=pk, status=JobStatus.QUEUED).update(heartbeat_at=timezone.now())
    transaction.on_commit(lambda: queueing.send(model, pk))
    announce(model, pk)


# ---------------------------------------------------------------------------- worker side
def claim(model: type[Job], pk: int, *, worker: str = "", status: str = JobStatus.RUNNING, **fields) -> Job | None:
    """queued -> `status` (running, or preparing) for this worker; None when someone else got there first.

    Progress starts again at 0 unless `fields` say where it resumes (a job resumed from a checkpoint).
    """
    now = timezone.now()
    fields = {"progress": 0.0, "eta_seconds": None, **fields}
    with transaction.atomic():
        changed = model.objects.filter(pk=pk, status=JobStatus.QUEUED).update(
            status=status, worker=worker[:200], attempt=F("attempt") + 1, heartbeat_at=now, started_at=now,
            **fields)
        if changed != 1:
            return None
        announce(model, pk)
    return model.objects.get(pk=pk)


def advance(model: type[Job], pk: int, *, from_status: str, to_status: str, **fields) -> bool:
    """One conditional move between two active statuses (e.g. preparing -> running)."""
    with transaction.atomic():
        changed = model.objects.filter(pk=pk, status=from_status).update(
            status=to_status, heartbeat_at=timezone.now(), **fields)
        if changed == 1:
            announce(model, pk)
    return changed == 1


def report_progress(model: type[Job], pk: int, progress: float, *, eta_seconds: float | None = None,
                    label: str | None = None, **fields) -> bool:
    """Record progress (0..1) of a claimed job; it doubles as a heartbeat. Broadcast coalesced.

    `fields` are stored on the job too; `label` (e.g. "120 / 400 commits") is only shown live,
    as the message's "progress_label".
    """
    progress = min(1.0, max(0.0, float(progress)))
    if not record_progress(model, pk, progress=progress, eta_seconds=eta_seconds, **fields):
        return False
    payload = {"type": "job.progress", "kind": model.group_prefix, "id": pk, "progress": progress,
               "eta_seconds": eta_seconds, **{k: v for k, v in fields.items() if _plain(v)}}
    if label is not None:
        payload["progress_label"] = label
    transaction.on_commit(lambda: broadcast.publish_job_events(model.group_for(pk), [payload]))
    return True


def record_progress(model: type[Job], pk: int, **fields) -> bool:
    """Store progress fields of a claimed job (a heartbeat too) without a message: for a worker that
    broadcasts its own events (a training run's points and log lines). False when it is no longer claimed."""
    return model.objects.filter(pk=pk, status__in=CLAIMED_STATUSES).update(
        heartbeat_at=timezone.now(), **fields) == 1


def heartbeat(model: type[Job], pk: int) -> bool:
    """Record a sign of life; returns whether cancellation was requested (check it in the work loop)."""
    model.objects.filter(pk=pk, status__in=CLAIMED_STATUSES).update(heartbeat_at=timezone.now())
    return cancel_requested(model, pk)


def cancel_requested(model: type[Job], pk: int) -> bool:
    """Whether someone asked to cancel the job (its worker stops at the next check)."""
    return model.objects.filter(pk=pk, cancel_requested=True).exists()


# The one rule for the text a job keeps about how it ended, applied after the secret scrubber (a cut secret
# would escape it): `error`, for operators, keeps its end, where a log's or a traceback's cause is;
# `human_error`, one plain sentence, keeps its start, within its column.
ERROR_CHARS = 20000
HUMAN_ERROR_CHARS = 500


def _outcome_text(fields: dict) -> dict:
    if fields.get("error"):
        fields["error"] = scrub(fields["error"])[-ERROR_CHARS:]
    if fields.get("human_error"):
        fields["human_error"] = scrub(fields["human_error"])[:HUMAN_ERROR_CHARS]
    return fields


def finish(model: type[Job], pk: int, *, status: str = JobStatus.SUCCEEDED, **fields) -> bool:
    """A claimed (or queued) job ends with `status` and its outcome fields; success sets progress to 1."""
    now = timezone.now()
    fields = _outcome_text(fields)
    if status == JobStatus.SUCCEEDED:
        fields.setdefault("progress", 1.0)
        fields.setdefault("eta_seconds", 0)
    with transaction.atomic():
        changed = model.objects.filter(pk=pk, status__in=ACTIVE_STATUSES).update(
            status=status, finished_at=now, heartbeat_at=now, **fields)
        if changed != 1:
            logger.info("%s %s was no longer active when it ended as %s", model.__name__, pk, status)
            return False
        announce(model, pk)
        _ended(model, pk, status)
    return True


def fail(model: type[Job], pk: int, *, error: str, human_error: str = "", **fields) -> bool:
    """End an active job as failed; `human_error` says what went wrong in plain words."""
    error = error or ""
    human_error = human_error or (error.splitlines()[0] if error else "failed")
    return finish(model, pk, status=JobStatus.FAILED, error=error, human_error=human_error, **fields)


# ---------------------------------------------------------------------------- user side
def cancel(model: type[Job], pk: int) -> str:
    """A queued job is cancelled at once; a claimed one is flagged for its worker. Returns the new status."""
    now = timezone.now()
    with transaction.atomic():
        if model.objects.filter(pk=pk, status=JobStatus.QUEUED).update(
                status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now,
                human_error="cancelled before it started"):
            announce(model, pk)
            _ended(model, pk, JobStatus.CANCELLED)
            return JobStatus.CANCELLED
        if model.objects.filter(pk=pk, status__in=CLAIMED_STATUSES).update(cancel_requested=True):
            announce(model, pk)
            return model.objects.get(pk=pk).status
    status = model.objects.filter(pk=pk).values_list("status", flat=True).first()
    raise JobRefused(f"{model._meta.verbose_name} {pk} is {status}; only queued, preparing or running ones "
                     "can be cancelled")


def requeue(model: type[Job], pk: int, *, from_statuses=RETRYABLE_STATUSES, **fields) -> bool:
    """A failed or lost job goes back to the queue (retry); raises JobRefused otherwise."""
    with transaction.atomic():
        changed = model.objects.filter(pk=pk, status__in=from_statuses).update(
            status=JobStatus.QUEUED, cancel_requested=False, error="", human_error="", finished_at=None,
            eta_seconds=None, heartbeat_at=timezone.now(), **fields)
        if changed != 1:
            status = model.objects.filter(pk=pk).values_list("status", flat=True).first()
            raise JobRefused(f"{model._meta.verbose_name} {pk} is {status}; only failed or lost ones can be retried")
        job = model.objects.get(pk=pk)
        enqueue(job)
    return True


# ---------------------------------------------------------------------------- reaper side
def mark_lost(model: type[Job], pk: int, *, before) -> bool:
    """A claimed job whose last sign of life is older than `before` becomes lost (with the model's
    `lost_fields()`; its `after_lost(pk)` runs in the same transaction)."""
    with transaction.atomic():
        changed = model.objects.filter(pk=pk).stale(before).update(
            status=JobStatus.LOST, finished_at=timezone.now(), human_error=model.lost_message[:HUMAN_ERROR_CHARS],
            **model.lost_fields())
        if changed == 1:
            model.after_lost(pk)
            announce(model, pk)
            _ended(model, pk, JobStatus.LOST)
    return changed == 1


def reap_stale(model: type[Job], now=None) -> list[int]:
    """Mark every stale claimed job of `model` lost; returns their ids."""
    before = model.stale_before(now)
    stale = list(model.objects.stale(before).values_list("pk", flat=True))
    return [pk for pk in stale if mark_lost(model, pk, before=before)]


def sweep_queued(model: type[Job], *, older_than: float, now=None) -> list[int]:
    """Send again every job still queued whose last enqueue is older than `older_than` seconds.

    The broker may have lost the message (a Redis restart without persistence, the embedded
    in-memory broker after a server restart, or a send that failed while the broker was down).
    A job whose message still waits in the broker is not sent again (one outstanding message per
    job), nor one the model holds back (`hold_reason`: no registered worker could ever take it).
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=older_than)
    due = model.objects.queued().filter(heartbeat_at__lt=cutoff) | model.objects.queued().filter(
        heartbeat_at__isnull=True, created_at__lt=cutoff)
    sent = []
    for pk in due.values_list("pk", flat=True):
        # Claim the re-send itself, so two sweeps never both send the same job.
        if model.objects.filter(pk=pk, status=JobStatus.QUEUED).filter(
                heartbeat_at__lt=cutoff).update(heartbeat_at=now) or model.objects.filter(
                pk=pk, status=JobStatus.QUEUED, heartbeat_at__isnull=True).update(heartbeat_at=now):
            if model.hold_reason(pk) or queueing.waiting_in_broker(model, pk):
                continue
            if queueing.send(model, pk):
                sent.append(pk)
    return sent


def _plain(value) -> bool:
    return isinstance(value, (int, float, str, bool, type(None), list, dict))


__all__ = ["ERROR_CHARS", "HUMAN_ERROR_CHARS", "JobRefused", "advance", "announce", "cancel", "cancel_requested",
           "claim", "enqueue", "fail", "finish", "heartbeat", "mark_lost", "on_ended", "reap_stale", "record_progress",
           "report_progress", "requeue", "sweep_queued"]
