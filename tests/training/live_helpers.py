"""Shared set-up for the live monitoring tests: channel layers and signed-in websockets."""

import os
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from tests.conftest import reachable

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")  # a browser always sends it; the origin check compares against it
REDIS_LIVE_URL = "redis://127.0.0.1:6379/7"


def use_layer(settings, kind: str) -> None:
    """Point Channels at the in-memory layer or a real Redis (skipped only where none answers)."""
    if kind == "memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer",
                                               "CONFIG": {"capacity": 1000}}}
        return
    url = os.environ.get("REDIS_URL") or REDIS_LIVE_URL
    if not reachable(url):
        pytest.skip(f"no Redis server at {url}")
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {
        "hosts": [url], "capacity": 1000, "expiry": 30, "prefix": f"live-test-{uuid.uuid4().hex[:8]}"}}}


def session_cookie(client, user):
    """The Cookie header of `user` signed in through the test client (call it via database_sync_to_async)."""
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def open_socket(application, path: str, client=None, user=None, origin=ORIGIN):
    headers = [HOST, origin] if origin else [HOST]
    if user is not None:
        headers.append(await database_sync_to_async(session_cookie)(client, user))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def receive_until(communicator, done, timeout: float = 5.0) -> list[dict]:
    """Messages until done(messages) is true (a timeout fails the test)."""
    messages: list[dict] = []
    while not done(messages):
        messages.append(await communicator.receive_json_from(timeout=timeout))
    return messages


def train_steps(messages: list[dict]) -> list[int]:
    """Every train step the client received, in order (snapshots and live batches)."""
    steps = []
    for message in messages:
        if message["type"] in ("snapshot", "run.metrics"):
            steps += [p["step"] for p in message["points"] if p["kind"] == "train"]
    return steps


@pytest.fixture
async def memory_layer(settings):
    """The in-memory channel layer, messages sent at once (no batching window); thread connections closed after."""
    use_layer(settings, "memory")
    settings.LIVE_BATCH_WINDOW_MS = 0
    yield
    await close_thread_connections()


async def close_thread_connections():
    """Close the database connections of the thread database_sync_to_async runs in.

    Otherwise that thread keeps its PostgreSQL connection open and the test database
    cannot be dropped at the end of the session.
    """
    from channels.db import database_sync_to_async
    from django.db import connections

    await database_sync_to_async(connections.close_all)()
