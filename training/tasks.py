"""Celery tasks for training: execute a run (training queue); the training worker's start and stop signals."""

import logging
import socket

from celery import shared_task
from celery.signals import worker_init, worker_shutdown, worker_shutting_down

from training import worker_host, workers

logger = logging.getLogger(__name__)


@shared_task(name="training.tasks.execute_run", bind=True, acks_late=True)
def execute_run(self, run_id: int) -> str | None:
    """Claim run_id (queued -> preparing) and execute it; a second delivery finds it claimed and does nothing."""
    from training.execution import execute

    # The name this worker registered its row under (the embedded worker's thread pool reports the
    # machine's name in request.hostname), so the Workers table shows the run on the right row.
    hostname = worker_host.registered_hostname() or getattr(self.request, "hostname", None) or socket.gethostname()
    if reason := worker_host.refusal(run_id):
        # Another worker of the run's queue can take it; the sweep sends it again meanwhile.
        logger.warning("worker %s leaves run %s queued: %s", hostname, run_id, reason)
        workers.note_refusal(run_id, hostname, reason)
        return None
    workers.set_current_run(hostname, run_id)
    try:
        return execute(run_id, hostname)
    finally:
        workers.set_current_run(hostname, None)


@worker_init.connect
def _start_training_worker(sender=None, **kwargs):
    """Training workers (CLI `celery worker -Q training` or the embedded one): capability queues, row, orphans."""
    worker_host.on_start(sender)


@worker_shutting_down.connect
def _shutting_down(sender=None, sig=None, how=None, **kwargs):
    """Sent from the worker's signal handler (SIGTERM, SIGINT, SIGQUIT) or by the embedded worker's stop: the
    run in progress stops at its next step with a checkpoint and goes back to the queue."""
    worker_host.request_shutdown(f"its worker is shutting down ({how or 'warm'} shutdown, {sig or 'stop'})")


@worker_shutdown.connect
def _stop_training_worker(sender=None, **kwargs):
    worker_host.on_stop(sender)
