"""The Celery worker (and beat) that runs inside the server process in embedded mode.

With the in-memory broker, producer and consumer must share one process, so the worker
runs as a thread of the ASGI server. celery's WorkController (not the CLI Worker, which
installs signal handlers and so needs the main thread) is safe to start in a thread.
"""

import logging
import threading

from celery import beat, signals
from celery.concurrency.thread import TaskPool as ThreadTaskPool
from celery.worker import WorkController
from django.conf import settings

from academy_site.celery import app

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_running: dict = {}


class _WebProcessThreadPool(ThreadTaskPool):
    """The threads pool, for a worker that shares its process with the web server.

    A worker marks its process as "inside a task" (result.get() then refuses to block) as
    its pool says; the web side of this process is not a task, so this pool says no.
    """

    task_join_will_block = False


class _ReadyWorker(WorkController):
    """A WorkController that lets the starter wait until it consumes."""

    def __init__(self, *args, **kwargs):
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer):
        super().on_consumer_ready(consumer)
        self.ready.set()


def start(*, with_beat: bool = True, timeout: float = 30.0) -> WorkController:
    """Start the in-process worker once; later calls return the running one."""
    with _lock:
        if "worker" in _running:
            return _running["worker"]
        worker = _ReadyWorker(
            app=app,
            pool_cls=_WebProcessThreadPool,
            concurrency=settings.EMBEDDED_WORKER_CONCURRENCY,
            queues=["default", "training"],
            hostname="embedded@academy",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            loglevel="WARNING",
        )
        thread = threading.Thread(target=worker.start, name="academy-embedded-worker", daemon=True)
        thread.start()
        if not worker.ready.wait(timeout):
            raise RuntimeError("the embedded Celery worker did not start")
        _running["worker"] = worker
        if with_beat:
            service = beat.EmbeddedService(app, thread=True, scheduler_cls=settings.CELERY_BEAT_SCHEDULER)
            service.start()
            _running["beat"] = service
        logger.info("embedded Celery worker started (concurrency %s)", settings.EMBEDDED_WORKER_CONCURRENCY)
        return worker


def stop() -> None:
    """Stop the in-process worker and beat, if running."""
    with _lock:
        service = _running.pop("beat", None)
        if service is not None:
            service.stop()
        worker = _running.pop("worker", None)
        if worker is not None:
            # What the CLI worker's SIGTERM handler sends: a training run in progress stops at its
            # next step with a checkpoint and goes back to the queue, instead of holding the stop.
            signals.worker_shutting_down.send(sender=worker.hostname, sig="stop", how="Warm", exitcode=0)
            worker.stop(in_sighandler=False)


def is_running() -> bool:
    return "worker" in _running
