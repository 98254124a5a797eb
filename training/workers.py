"""Training workers: heartbeats with their devices, what they run, and the reaper of lost runs."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from training.backends import BACKENDS
from training.models import ACTIVE_STATUSES, TrainingRun, TrainingWorker
from training.services import mark_lost

logger = logging.getLogger(__name__)


def _devices() -> tuple[list[dict], list[str]]:
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
    devices, backends = _devices()
    worker, _ = TrainingWorker.objects.update_or_create(
        hostname=hostname[:200], defaults={"queues": queues, "devices": devices, "backends": backends,
                                           "last_seen_at": timezone.now()})
    return worker


def set_current_run(hostname: str, run_id: int | None) -> None:
    TrainingWorker.objects.filter(hostname=hostname[:200]).update(current_run_id=run_id, last_seen_at=timezone.now())


def online_workers():
    """Workers seen within three heartbeat intervals."""
    interval = settings.TRAINING_WORKER_HEARTBEAT_SECONDS or 30.0
    since = timezone.now() - timedelta(seconds=3 * interval)
    return TrainingWorker.objects.filter(last_seen_at__gte=since).select_related("current_run")


def start_heartbeat_thread(hostname: str, queues: list[str]) -> threading.Event:
    """Report every TRAINING_WORKER_HEARTBEAT_SECONDS on a daemon thread until the returned event is set."""
    stop = threading.Event()
    interval = settings.TRAINING_WORKER_HEARTBEAT_SECONDS
    if not interval:
        return stop

    def loop():
        # A short delay lets the worker finish starting before the first report.
        while not stop.wait(1.0 if not loop.reported else interval):
            loop.reported = True
            try:
                record_heartbeat(hostname, queues)
            except Exception:
                logger.exception("worker heartbeat failed")
            finally:
                close_old_connections()

    loop.reported = False
    threading.Thread(target=loop, name="academy-training-heartbeat", daemon=True).start()
    return stop


def reap() -> dict:
    """Active runs silent for TRAINING_LOST_AFTER_SECONDS become lost; leftovers of inactive runs are removed."""
    before = timezone.now() - timedelta(seconds=settings.TRAINING_LOST_AFTER_SECONDS)
    stale = TrainingRun.objects.filter(status__in=ACTIVE_STATUSES, heartbeat_at__lt=before).values_list("pk", flat=True)
    lost = [run_id for run_id in stale if mark_lost(run_id, before=before)]
    keep = set(TrainingRun.objects.filter(status__in=ACTIVE_STATUSES).values_list("pk", flat=True))
    removed = []
    for backend in BACKENDS.values():
        try:
            removed += backend.reap(keep)
        except Exception:
            logger.exception("reaping %s leftovers failed", backend.kind)
    if lost or removed:
        logger.warning("reaper: lost runs %s, removed %s", lost, removed)
    return {"lost": lost, "removed": removed}
