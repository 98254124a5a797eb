"""This process's training worker and its own host: what it has, the queues it takes, its shutdown, its orphans.

Runs inside every training worker (the CLI `celery worker -Q training` and the embedded one)
and holds what belongs to the process: the devices and backends it found, its heartbeat
thread, its shutdown flag. Its row and what other processes read of it (who is online, why a
queued run waits) are training.workers. So each host cleans up after itself, not only the
host where beat's reaper runs:

- at start, the worker adds the capability queues its devices satisfy (training.capabilities),
  records itself with no current run, and ends trainers (processes, containers) left by runs
  that are no longer active or that an earlier life of this same worker had claimed;
- every TRAINING_WORKER_HEARTBEAT_SECONDS it reports its devices and reaps again;
- a clean stop marks it stopped at once (a killed one drops off after three missed heartbeats);
- a shutdown request (SIGTERM: Celery's warm shutdown, or the embedded worker stopping with
  the server) is noted at once, so the run in progress stops at its next step with a
  checkpoint and goes back to the queue instead of holding the shutdown until it ends
  (training.execution).
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from jobs.models import CLAIMED_STATUSES
from training import capabilities, workers
from training.backends import BACKENDS
from training.models import TrainingRun, TrainingWorker

logger = logging.getLogger(__name__)

# What this process's worker found at start: {"hostname", "devices", "backends"}.
_host: dict = {}
_stops: dict[int, threading.Event] = {}
# Set from a signal handler: a plain assignment (no lock a handler could wait on forever).
_shutdown = {"requested": False, "reason": ""}


def consumed_queues(worker) -> list[str]:
    return list(getattr(worker.app.amqp.queues, "consume_from", None) or {})


def is_training_worker(queues: list[str]) -> bool:
    return any(q == capabilities.QUEUE_PREFIX or q.startswith(capabilities.QUEUE_PREFIX + ".") for q in queues)


def on_start(worker) -> None:
    """Set up a worker that consumes a training queue (others are left alone)."""
    if not is_training_worker(consumed_queues(worker)):
        return
    devices, backends = devices_and_backends()
    for name in capabilities.worker_queues(devices, backends):
        worker.app.amqp.queues.select_add(name)
    queues = consumed_queues(worker)
    _shutdown.update(requested=False, reason="")
    _host.update(hostname=worker.hostname, devices=devices, backends=backends)
    try:
        workers.register(worker.hostname, queues, devices, backends)
        reap_orphans(worker.hostname, restarted=True)
    except Exception:
        # The database may be down while the worker starts: it consumes its queues all the same,
        # and the heartbeat records it once the database answers.
        logger.exception("training worker %s could not record itself at start", worker.hostname)
    logger.info("training worker %s consumes %s", worker.hostname, ", ".join(sorted(queues)))
    _stops[id(worker)] = _start_reporting(worker.hostname, queues)


def registered_hostname() -> str | None:
    """The hostname this process's training worker registered with (None when it runs none)."""
    return _host.get("hostname")


def request_shutdown(reason: str) -> None:
    """This process's worker is shutting down: runs in progress stop at their next step and are handed back."""
    _shutdown.update(requested=True, reason=reason)


def shutdown_requested() -> str:
    """Why this process's worker is shutting down ("" while it is not)."""
    return _shutdown["reason"] if _shutdown["requested"] else ""


def on_stop(worker) -> None:
    # Sent once the worker's tasks have ended: a process that goes on (the server, after its embedded
    # worker stopped) must not hand back the runs a later worker of it executes.
    _shutdown.update(requested=False, reason="")
    stop = _stops.pop(id(worker), None)
    if stop is None:
        return
    stop.set()
    workers.mark_stopped(worker.hostname)


def devices_and_backends() -> tuple[list[dict], list[str]]:
    """This host's devices as the backend its worker would use sees them (a probe container for docker)."""
    available = [kind for kind, cls in BACKENDS.items() if cls.available()]
    preferred = settings.TRAINING_BACKEND if settings.TRAINING_BACKEND in available else (
        "docker" if "docker" in available else "local")
    try:
        return BACKENDS[preferred].devices(), available
    except Exception:
        logger.exception("could not describe devices with the %s backend", preferred)
        return BACKENDS["local"].devices(), available


def heartbeat(hostname: str, queues: list[str]) -> TrainingWorker:
    """Record the worker's sign of life with its devices and backends as found now; returns its row."""
    return workers.record_heartbeat(hostname, queues, *devices_and_backends())


def refusal(run_id: int) -> str:
    """Why this process's worker cannot take the run ("" when it can, or when no worker started here)."""
    if not _host:
        return ""
    run = TrainingRun.objects.filter(pk=run_id).only("requirements", "requested_backend").first()
    if run is None:
        return ""
    return capabilities.refusal(capabilities.requirements_of(run), _host["devices"], _host["backends"])


def reap_orphans(hostname: str, *, restarted: bool = False) -> list[str]:
    """End this host's trainers whose run is not active; after a restart also those this worker had claimed.

    A worker runs one run at a time, so when it starts, a run still claimed under its name
    belongs to its previous life: whatever trainer that left behind is an orphan.
    """
    active = TrainingRun.objects.active()
    if restarted:
        active = active.exclude(worker=hostname[:200], status__in=CLAIMED_STATUSES)
    keep = set(active.values_list("pk", flat=True))
    removed: list[str] = []
    for backend in BACKENDS.values():
        try:
            removed += backend.reap(keep)
        except Exception:
            logger.exception("reaping %s leftovers on this host failed", backend.kind)
    if removed:
        logger.warning("worker %s removed orphaned trainers: %s", hostname, ", ".join(removed))
    return removed


def _start_reporting(hostname: str, queues: list[str]) -> threading.Event:
    """Heartbeat and orphan reaping every TRAINING_WORKER_HEARTBEAT_SECONDS on a daemon thread."""
    stop = threading.Event()
    interval = settings.TRAINING_WORKER_HEARTBEAT_SECONDS
    if not interval:
        return stop

    def loop():
        while not stop.wait(interval):
            try:
                heartbeat(hostname, queues)
                reap_orphans(hostname)
            except Exception:
                logger.exception("worker heartbeat failed")
            finally:
                close_old_connections()

    threading.Thread(target=loop, name="academy-training-heartbeat", daemon=True).start()
    return stop
