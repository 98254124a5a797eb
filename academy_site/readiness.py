"""Readiness checks: is each service this process depends on reachable right now?"""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections
from kombu import Connection

TIMEOUT_S = 2.0


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


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


def run_checks() -> dict[str, dict]:
    """Run every check; return {name: {"ok": bool, "error": str?}}."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; name it, don't crash
            message = str(exc) or exc.__class__.__name__
            results[name] = {"ok": False, "error": f"{exc.__class__.__name__}: {message}"[:300]}
        else:
            results[name] = {"ok": True}
    return results
