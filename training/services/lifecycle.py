"""A run's life on a worker: claim, running, heartbeat, finish; lost when its worker vanished.

Every change is a conditional update on the current status, so two workers (or a worker
and the reaper) can never both move the same run.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import broadcast
from training.models import ACTIVE_STATUSES, RunStatus, TrainingRun
from training.services.hooks import call_succeeded_hooks


def _announce(run_id: int, status: str, **extra) -> None:
    run = TrainingRun.objects.only("id").get(pk=run_id)
    event = {"event": "status", "status": status, **extra}
    transaction.on_commit(lambda: broadcast.publish_job_events(run.group_name, [event]))
    transaction.on_commit(broadcast.publish_overview)


def claim_run(run_id: int, worker: str) -> TrainingRun | None:
    """queued -> preparing for this worker; None when another worker (or a cancel) got there first."""
    now = timezone.now()
    with transaction.atomic():
        changed = TrainingRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.PREPARING, worker=worker[:200], attempt=F("attempt") + 1, heartbeat_at=now,
            started_at=now, progress=0.0, eta_seconds=None)
        if changed != 1:
            return None
        _announce(run_id, RunStatus.PREPARING)
    return TrainingRun.objects.select_related("dataset").get(pk=run_id)


def mark_running(run_id: int, *, backend: str, device: str, container_id: str = "", pid: int | None = None) -> bool:
    """preparing -> running, recording where it runs."""
    with transaction.atomic():
        changed = TrainingRun.objects.filter(pk=run_id, status=RunStatus.PREPARING).update(
            status=RunStatus.RUNNING, backend=backend, device=device[:200], container_id=container_id[:80], pid=pid,
            heartbeat_at=timezone.now())
        if changed:
            _announce(run_id, RunStatus.RUNNING, backend=backend, device=device)
    return changed == 1


def touch_heartbeat(run_id: int) -> bool:
    """Record that the worker is alive; returns whether cancellation was requested."""
    TrainingRun.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(heartbeat_at=timezone.now())
    return TrainingRun.objects.filter(pk=run_id, cancel_requested=True).exists()


def finish_run(run_id: int, status: str, **fields) -> bool:
    """Move an active run to a terminal status with its outcome fields; success fires on_run_succeeded hooks."""
    now = timezone.now()
    with transaction.atomic():
        changed = TrainingRun.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(
            status=status, finished_at=now, heartbeat_at=now, **fields)
        if changed != 1:
            return False
        if status == RunStatus.SUCCEEDED:
            TrainingRun.objects.filter(pk=run_id).update(progress=1.0, eta_seconds=0)
            transaction.on_commit(lambda: call_succeeded_hooks(run_id))
        _announce(run_id, status, human_error=fields.get("human_error", ""))
    return True


def mark_lost(run_id: int, *, before) -> bool:
    """An active run whose heartbeat is older than `before` becomes lost."""
    with transaction.atomic():
        changed = TrainingRun.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES, heartbeat_at__lt=before).update(
            status=RunStatus.LOST, finished_at=timezone.now(),
            human_error="lost: its worker stopped reporting; retry resumes from the last checkpoint")
        if changed:
            _announce(run_id, RunStatus.LOST)
    return changed == 1
