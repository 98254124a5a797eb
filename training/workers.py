"""Training workers: devices, current run, who is online (start and stop: training.worker_host)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from training.backends import BACKENDS
from training.models import TrainingWorker

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

