"""Training workers: heartbeats with their devices and what they run (lost runs: jobs.reaper)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from training.backends import BACKENDS
from training.models import TrainingWorker

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
