"""The training workers as the database records them, read and written from any process.

Owns the TrainingWorker rows (a worker's start, heartbeat, current run and clean stop), who
is online, and what the records tell about a queued run: why no online worker can take it
now, which worker left it queued, and the run page's note. The process that *is* a worker
(its start and stop, device probe, heartbeat thread, shutdown flag, orphan reaping on its own
host) is training.worker_host, which writes through this module.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from jobs.models import JobStatus
from training import capabilities
from training.models import NEVER_PREFIX, TrainingRun, TrainingWorker


def register(hostname: str, queues: list[str], devices: list[dict], backends: list[str]) -> TrainingWorker:
    """The worker's row as of a fresh start: what it has, no current run, not stopped."""
    now = timezone.now()
    return _save(hostname, queues, devices, backends, current_run=None, started_at=now, last_seen_at=now,
                 stopped_at=None)


def record_heartbeat(hostname: str, queues: list[str], devices: list[dict], backends: list[str]) -> TrainingWorker:
    """Create or refresh the worker's row with its devices and backends."""
    return _save(hostname, queues, devices, backends, last_seen_at=timezone.now())


def _save(hostname: str, queues: list[str], devices: list[dict], backends: list[str], **fields) -> TrainingWorker:
    row, _ = TrainingWorker.objects.update_or_create(
        hostname=hostname[:200], defaults={"queues": queues, "devices": devices, "backends": backends, **fields})
    return row


def set_current_run(hostname: str, run_id: int | None) -> None:
    TrainingWorker.objects.filter(hostname=hostname[:200]).update(current_run_id=run_id, last_seen_at=timezone.now())


def mark_stopped(hostname: str) -> None:
    TrainingWorker.objects.filter(hostname=hostname[:200]).update(stopped_at=timezone.now(), current_run=None)


def online_workers():
    """Workers seen within three heartbeat intervals and not stopped (a clean stop counts at once)."""
    interval = settings.TRAINING_WORKER_HEARTBEAT_SECONDS or 30.0
    since = timezone.now() - timedelta(seconds=3 * interval)
    return TrainingWorker.objects.filter(last_seen_at__gte=since, stopped_at__isnull=True).select_related(
        "current_run")


# ---------------------------------------------------------------------------- what a queued run waits for
# (that no registered worker could ever take a run is the run's own hold reason: TrainingRun.hold_reason)

def online_warning(run) -> str:
    """What to tell whoever started or watches the queued run when no online worker can take it now ("": one can)."""
    online = list(online_workers())
    if not online:
        return f"no training worker is online: it waits on {run.queue_name} until one starts"
    problem = capabilities.capacity_problem(capabilities.requirements_of(run), online)
    if not problem:
        return ""
    return (f"no online worker can take it ({problem}): it waits on {run.queue_name} until one that has what "
            "it needs starts")


def note_refusal(run_id: int, hostname: str, reason: str) -> None:
    """A worker received the run and left it queued: say which and why on the run, not only in its log
    (a note that no registered worker could ever take it stays: it says more)."""
    when = timezone.localtime().strftime("%H:%M:%S")
    note = f"worker {hostname} left it queued at {when}: {reason}"[:500]
    TrainingRun.objects.filter(pk=run_id, status=JobStatus.QUEUED).exclude(
        wait_note__startswith=NEVER_PREFIX).update(wait_note=note)


def on_run_created(run) -> None:
    """At start: note on the run when no registered worker could ever take it."""
    run.wait_note = TrainingRun.hold_reason(run.pk) or run.wait_note


def waiting_panel(request, run) -> str | None:
    """The run page's note while the run is queued: who cannot take it now, and why it may never be taken."""
    if run.status != JobStatus.QUEUED:
        return None
    # Worked out afresh on every view: a worker that registered since the last sweep counts at once.
    never = run.never_note()
    refused = "" if run.wait_note.startswith(NEVER_PREFIX) else run.wait_note
    notes = [note for note in (never or online_warning(run), refused) if note]
    if not notes:
        return None
    return render_to_string("training/live/_waiting.html", {"notes": notes}, request=request)
