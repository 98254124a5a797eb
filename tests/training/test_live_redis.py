"""Live websockets on a real Redis that the test owns: idle sockets stay open, a Redis restart heals.

Each test starts its own redis-server (tests/redis_server.py) and points the channel layer
at it with the settings' own backend, so stopping Redis touches nothing else.
"""

import asyncio

import pytest
from channels.db import database_sync_to_async

from academy_site.asgi import application
from jobs import broadcast
from jobs.models import JobStatus
from tests.redis_server import private_redis  # noqa: F401 (fixture)
from tests.training.factories import add_points, make_run

from .live_helpers import close_thread_connections, open_socket, receive_until, train_steps

pytestmark = pytest.mark.django_db(transaction=True)

IDLE_SECONDS = 30


@pytest.fixture
async def redis_layer(private_redis, settings):  # noqa: F811
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "academy_site.channel_layer.RedisChannelLayer",
                                           "CONFIG": {"hosts": [private_redis.url], "capacity": 1000, "expiry": 30}}}
    settings.LIVE_BATCH_WINDOW_MS = 20
    yield private_redis
    await close_thread_connections()


async def _still_open(communicator) -> None:
    """Nothing arrived and the consumer is still running (a crash would surface here)."""
    assert await communicator.receive_nothing(timeout=0.5)
    assert not communicator.future.done(), communicator.future.exception()


async def test_idle_run_and_overview_sockets_stay_open_for_30_seconds(redis_layer, client, viewer):
    run = await database_sync_to_async(make_run)(status=JobStatus.SUCCEEDED)
    await database_sync_to_async(add_points)(run, [1, 2, 3])
    run_socket, connected, code = await open_socket(application, f"/ws/runs/{run.pk}/", client, viewer)
    assert connected, code
    assert train_steps([await run_socket.receive_json_from(timeout=5)]) == [1, 2, 3]
    overview, connected, code = await open_socket(application, "/ws/overview/", client, viewer)
    assert connected, code
    assert (await overview.receive_json_from(timeout=5))["type"] == "overview.counts"

    await asyncio.sleep(IDLE_SECONDS)

    await _still_open(run_socket)
    await _still_open(overview)
    await run_socket.send_json_to({"type": "ping"})
    assert (await run_socket.receive_json_from(timeout=5))["type"] == "pong"
    # The subscription made 30 s ago still delivers.
    await database_sync_to_async(_publish_points)(run, [4])
    assert train_steps([await run_socket.receive_json_from(timeout=5)]) == [4]
    await run_socket.disconnect()
    await overview.disconnect()


async def test_after_a_redis_restart_sockets_reconnect_at_once_and_resume_gets_every_missed_point(
        redis_layer, client, viewer, settings):
    settings.LIVE_SNAPSHOT_MAX_POINTS = 50
    run = await database_sync_to_async(make_run)()
    await database_sync_to_async(add_points)(run, range(1, 11))
    communicator, connected, code = await open_socket(application, f"/ws/runs/{run.pk}/", client, viewer)
    assert connected, code
    assert train_steps([await communicator.receive_json_from(timeout=5)]) == list(range(1, 11))

    await asyncio.to_thread(redis_layer.restart)
    # The restarted Redis forgot the socket's channel and group: the consumer ends so
    # that its client reconnects, instead of waiting on a channel nobody sends to.
    done, _ = await asyncio.wait([communicator.future], timeout=20)
    assert done, "the socket outlived the Redis that held its subscription"
    assert "Connection closed" in str(communicator.future.exception())
    # Meanwhile the trainer went on: far more points than a first snapshot holds.
    await database_sync_to_async(add_points)(run, range(11, 311))

    # The first handshake after the restart succeeds (no stale pooled connection)...
    resumed, connected, code = await open_socket(application, f"/ws/runs/{run.pk}/?after_step=10", client, viewer)
    assert connected, code
    snapshot = await resumed.receive_json_from(timeout=5)
    # ...and the resume holds every missed point, not a downsampled curve.
    assert snapshot["resumed"] is True and snapshot["downsampled"] is False
    assert train_steps([snapshot]) == list(range(11, 311))
    # It is subscribed on the new Redis: live points arrive again.
    await database_sync_to_async(_publish_points)(run, [311, 312])
    messages = await receive_until(resumed, lambda ms: 312 in train_steps(ms))
    assert train_steps(messages) == [311, 312]
    await resumed.disconnect()

    # A first (not resumed) snapshot is still thinned for the chart, and says so.
    fresh, connected, _ = await open_socket(application, f"/ws/runs/{run.pk}/", client, viewer)
    assert connected
    full = await fresh.receive_json_from(timeout=5)
    assert full["downsampled"] is True and full["total_points"]["train"] == 312
    assert len(train_steps([full])) == settings.LIVE_SNAPSHOT_MAX_POINTS
    await fresh.disconnect()


def _publish_points(run, steps) -> None:
    broadcast.publish_job_events(run.group_name, add_points(run, steps))
    assert broadcast.flush()
