"""Training workers: devices, current run, who is online, and what a queued run waits for
(start and stop: training.worker_host)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from jobs.models import JobStatus
from training import capabilities
from training.backends import BACKENDS
from training.models import TrainingRun, TrainingWorker

logger = logging.getLogger(__name__)


def devices_and_backends() -> tuple[list[dict], list[str]]:
    """Devices as the backend this worker would use sees them (a probe container for docker)."""
    available = [kind for kind, cls in BACKENDS.items() if cls.available()]
    preferred = settings.TRAINING_BACKEND if settings.TRAINING_BACKEND in available else (
        "docker" if "docker" in available else "local")
    try:
        return BACKENDS[preferred].devices(), available
    except Exception:
        logger.exception("could not describe devices with the %s backend", preferred)
        return BACKENDS["local"].devices(), available


def record_heartbeat(hostname: str, queues: list[str]) -> TrainingWorker:
    """Create or refresh the worker row with its devices and backends."""
    devices, backends = devices_and_backends()
    worker, _ = TrainingWorker.objects.update_or_create(
        hostname=hostname[:200], defaults={"queues": queues, "devices": devices, "backends": backends,
                                           "last_seen_at": timezone.now()})
    return worker


def set_current_run(hostname: str, run_id: int | None) -> None:
    TrainingWorker.objects.filter(hostname=hostname[:200]).update(current_run_id=run_id, last_seen_at=timezone.now())


def online_workers():
    """Workers seen within three heartbeat intervals and not stopped (a clean stop counts at once)."""
    interval = settings.TRAINING_WORKER_HEARTBEAT_SECONDS or 30.0
    since = timezone.now() - timedelta(seconds=3 * interval)
    return TrainingWorker.objects.filter(last_seen_at__gte=since, stopped_at__isnull=True).select_related(
        "current_run")



# ---------------------------------------------------------------------------- what a queued run waits for
NEVER_PREFIX = "no registered worker could ever take it"
_SHOWN_REFUSALS = 3


def capacity_problem(requirements: capabilities.Requirements, rows) -> str:
    """Why none of these workers can take a run with these needs, worker by worker ("" when one can or there
    are none)."""
    reasons = []
    for worker in rows:
        reason = capabilities.refusal(requirements, worker.devices or [], worker.backends or [])
        if not reason:
            return ""
        reasons.append(f"{worker.hostname}: {reason}")
    more = len(reasons) - _SHOWN_REFUSALS
    return "; ".join(reasons[:_SHOWN_REFUSALS]) + (f"; and {more} more" if more > 0 else "")


def online_warning(run) -> str:
    """What to tell whoever started or watches the queued run when no online worker can take it now ("": one can)."""
    online = list(online_workers())
    if not online:
        return f"no training worker is online: it waits on {run.queue_name} until one starts"
    problem = capacity_problem(capabilities.requirements_of(run), online)
    if not problem:
        return ""
    return (f"no online worker can take it ({problem}): it waits on {run.queue_name} until one that has what "
            "it needs starts")


def never_note(run) -> str:
    """The note of a run that no registered worker, online or not, could ever take ("" otherwise)."""
    problem = capacity_problem(capabilities.requirements_of(run), TrainingWorker.objects.all())
    if not problem:
        return ""
    return (f"{NEVER_PREFIX} ({problem}); it stays queued until a worker that has what it needs registers "
            "(or cancel it and start one that asks for less)")[:500]


def note_waiting(run_id: int) -> str:
    """Store on a queued run why no registered worker could ever take it, or clear that note once one could;
    returns the note ("" when some worker could take it)."""
    run = TrainingRun.objects.filter(pk=run_id, status=JobStatus.QUEUED).only(
        "requirements", "queue_name", "wait_note", "status").first()
    if run is None:
        return ""
    note = never_note(run)
    if note != run.wait_note and (note or run.wait_note.startswith(NEVER_PREFIX)):
        TrainingRun.objects.filter(pk=run_id, status=JobStatus.QUEUED).update(wait_note=note)
    return note


def note_refusal(run_id: int, hostname: str, reason: str) -> None:
    """A worker received the run and left it queued: say which and why on the run, not only in its log
    (a note that no registered worker could ever take it stays: it says more)."""
    when = timezone.localtime().strftime("%H:%M:%S")
    note = f"worker {hostname} left it queued at {when}: {reason}"[:500]
    TrainingRun.objects.filter(pk=run_id, status=JobStatus.QUEUED).exclude(
        wait_note__startswith=NEVER_PREFIX).update(wait_note=note)


def on_run_created(run) -> None:
    """At start: note on the run when no registered worker could ever take it."""
    run.wait_note = note_waiting(run.pk) or run.wait_note


def waiting_panel(request, run) -> str | None:
    """The run page's note while the run is queued: who cannot take it now, and why it may never be taken."""
    if run.status != JobStatus.QUEUED:
        return None
    # Worked out afresh on every view: a worker that registered since the last sweep counts at once.
    never = never_note(run)
    refused = "" if run.wait_note.startswith(NEVER_PREFIX) else run.wait_note
    notes = [note for note in (never or online_warning(run), refused) if note]
    if not notes:
        return None
    return render_to_string("training/live/_waiting.html", {"notes": notes}, request=request)
