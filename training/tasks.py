"""Celery tasks for training: execute a run (training queue), worker heartbeats (default queue)."""

import logging
import socket
import threading

from celery import shared_task
from celery.signals import worker_init, worker_shutdown

from training import workers

logger = logging.getLogger(__name__)


@shared_task(name="training.tasks.execute_run", bind=True, acks_late=True)
def execute_run(self, run_id: int) -> str | None:
    """Claim run_id (queued -> preparing) and execute it; a second delivery finds it claimed and does nothing."""
    from training.execution import execute

    hostname = getattr(self.request, "hostname", None) or socket.gethostname()
    workers.set_current_run(hostname, run_id)
    try:
        return execute(run_id, hostname)
    finally:
        workers.set_current_run(hostname, None)


@shared_task(name="training.tasks.record_worker_heartbeat")
def record_worker_heartbeat(hostname: str, queues: list[str]) -> None:
    """Store hostname's devices and backends (normally called by the worker's own heartbeat thread)."""
    workers.record_heartbeat(hostname, queues)


_heartbeats: dict[int, threading.Event] = {}


@worker_init.connect
def _start_heartbeat(sender=None, **kwargs):
    """Training workers (CLI `celery worker -Q training` or the embedded one) report their devices periodically."""
    queues = list(getattr(sender.app.amqp.queues, "consume_from", None) or {})
    if "training" not in queues:
        return
    _heartbeats[id(sender)] = workers.start_heartbeat_thread(sender.hostname, queues)


@worker_shutdown.connect
def _stop_heartbeat(sender=None, **kwargs):
    stop = _heartbeats.pop(id(sender), None)
    if stop is not None:
        stop.set()
