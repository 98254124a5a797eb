"""Diagnostic tasks used to prove a worker is consuming the queue."""

import os
import socket

from celery import shared_task


@shared_task(name="academy_site.ping")
def ping(payload: str = "") -> dict:
    """Answer with where the task ran, so a caller can tell which worker executed it."""
    return {"payload": payload, "hostname": socket.gethostname(), "pid": os.getpid()}
