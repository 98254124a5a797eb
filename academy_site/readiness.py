"""Readiness checks: is each service this process depends on reachable right now?

Each check has its own bound (TIMEOUT_S), so a service that accepts connections and never
answers makes /readyz say 503 naming it within seconds instead of hanging the probe. The
database and the broker are checked on threads of their own, joined with that bound; the
channel layer's round trip stays on the caller's event loop (the layer's connections belong
to the server's loop) under asyncio.wait_for.
"""

import asyncio
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, connections
from kombu import Connection

TIMEOUT_S = 2.0


def check_database() -> None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connections["default"].close()  # this thread's own connection (back to the pool, if any)


def check_channel_layer() -> None:
    async def round_trip():
        layer = get_channel_layer()
        channel = await layer.new_channel(prefix="readyz.")
        await layer.send(channel, {"type": "readyz.ping"})
        message = await layer.receive(channel)
        if message.get("type") != "readyz.ping":
            raise RuntimeError("channel layer returned a different message")

    async def bounded():
        await asyncio.wait_for(round_trip(), TIMEOUT_S)

    async_to_sync(bounded)()


def check_broker() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT_S) as connection:
        connection.ensure_connection(max_retries=1, timeout=TIMEOUT_S)


CHECKS = {"database": check_database, "channel_layer": check_channel_layer, "broker": check_broker}
# Run on a thread of their own with the bound; the others bound themselves.
THREADED = ("database", "broker")


class CheckTimedOut(Exception):
    """A check gave no answer within its bound."""


def run_checks() -> dict[str, dict]:
    """Run every check; return {name: {"ok": bool, "error": str?}}, within about TIMEOUT_S."""
    threads = {name: _Bounded(CHECKS[name]) for name in CHECKS if name in THREADED}
    for thread in threads.values():
        thread.start()
    results = {}
    for name, check in CHECKS.items():
        if name in threads:
            continue
        results[name] = _outcome(check)
    for name, thread in threads.items():
        results[name] = thread.outcome(TIMEOUT_S)
    return {name: results[name] for name in CHECKS}


class _Bounded(threading.Thread):
    """One check on a daemon thread: one that never returns is abandoned, not waited for."""

    def __init__(self, check):
        super().__init__(name=f"readyz-{getattr(check, '__name__', 'check')}", daemon=True)
        self.check, self.result = check, None

    def run(self):
        try:
            self.result = _outcome(self.check)
        finally:
            close_old_connections()

    def outcome(self, timeout: float) -> dict:
        self.join(timeout)
        if self.result is None:
            return _failure(CheckTimedOut(f"no answer within {timeout:g} s"))
        return self.result


def _outcome(check) -> dict:
    try:
        check()
    except Exception as exc:  # any failure means "not ready"; name it, don't crash
        return _failure(exc)
    return {"ok": True}


def _failure(exc: Exception) -> dict:
    message = str(exc).strip() or exc.__class__.__name__
    return {"ok": False, "error": f"{exc.__class__.__name__}: {message}"[:300]}
