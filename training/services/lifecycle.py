"""A run's life on a worker, through the one job lifecycle (jobs.lifecycle).

claim (queued -> preparing), running, heartbeat, finish; lost runs are reaped by jobs.reaper.
Every change is a conditional update on the current status, so two workers (or a worker
and the reaper) can never both move the same run.
"""

from django.db import transaction

from jobs import lifecycle
from jobs.models import CLAIMED_STATUSES, JobStatus
from training.models import TrainingRun
from training.services.hooks import call_succeeded_hooks


def claim_run(run_id: int, worker: str) -> TrainingRun | None:
    """queued -> preparing for this worker; None when another worker (or a cancel) got there first.

    A run with a recorded checkpoint keeps its progress at that step: the trainer resumes there.
    """
    row = TrainingRun.objects.filter(pk=run_id).values("artifacts", "total_steps").first() or {}
    step = ((row.get("artifacts") or {}).get("checkpoint") or {}).get("step") or 0
    total = row.get("total_steps") or 0
    progress = min(1.0, step / total) if step and total else 0.0
    # Claimed, it waits no more: a note of why it waited (or was handed back) would mislead on a later retry.
    if lifecycle.claim(TrainingRun, run_id, worker=worker, status=JobStatus.PREPARING, progress=progress,
                       wait_note="") is None:
        return None
    return TrainingRun.objects.select_related("dataset").get(pk=run_id)


def hand_back_run(run_id: int, *, note: str, **fields) -> bool:
    """A claimed run goes back to the queue (its worker is shutting down, or its trainer was stopped), through
    the one requeue: its attempt count, progress, chart points and recorded checkpoint stay, and the next
    worker resumes it from that checkpoint. `note` says why on the run's page while it waits."""
    try:
        return lifecycle.requeue(TrainingRun, run_id, from_statuses=CLAIMED_STATUSES, exit_code=None,
                                 container_id="", pid=None, wait_note=note[:500], **fields)
    except lifecycle.JobRefused:
        return False


def mark_running(run_id: int, *, backend: str, device: str, container_id: str = "", pid: int | None = None) -> bool:
    """preparing -> running, recording where it runs."""
    return lifecycle.advance(TrainingRun, run_id, from_status=JobStatus.PREPARING, to_status=JobStatus.RUNNING,
                             backend=backend, device=device[:200], container_id=container_id[:80], pid=pid)


def touch_heartbeat(run_id: int) -> bool:
    """Record that the worker is alive; returns whether cancellation was requested."""
    return lifecycle.heartbeat(TrainingRun, run_id)


def finish_run(run_id: int, status: str, **fields) -> bool:
    """Move an active run to a terminal status with its outcome fields; success fires on_run_succeeded hooks.

    The error texts go through the secret scrubber (the same as the trainer's log lines, training.ingest)
    and are cut to their length in jobs.lifecycle.finish, before any page, API answer or live message shows them.
    """
    with transaction.atomic():
        if not lifecycle.finish(TrainingRun, run_id, status=status, **fields):
            return False
        if status == JobStatus.SUCCEEDED:
            transaction.on_commit(lambda: call_succeeded_hooks(run_id))
    return True
