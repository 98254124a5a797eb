import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from academy_site.asgi import application
from jobs import broadcast
from jobs.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tests.training.factories import add_log_lines, add_points, make_run, metric_event
from training import consumers
from training.consumers import RunConsumer
from training.live_snapshot import load_snapshot

from .live_helpers import close_thread_connections, open_socket, receive_until, train_steps, use_layer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["memory", "redis"])
async def layer(request, settings):
    use_layer(settings, request.param)
    settings.LIVE_BATCH_WINDOW_MS = 20
    yield request.param
    await close_thread_connections()


def _publish(run, events):
    broadcast.publish_job_events(run.group_name, events)


async def test_it_refuses_anonymous(layer):
    run = await database_sync_to_async(make_run)()
    communicator, connected, code = await open_socket(application, f"/ws/runs/{run.pk}/")
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)


async def test_it_refuses_outsider(layer, client, dave):
    run = await database_sync_to_async(make_run)()
    _, connected, code = await open_socket(application, f"/ws/runs/{run.pk}/", client, dave)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_it_refuses_foreign_origin(layer, client, viewer):
    run = await database_sync_to_async(make_run)()
    _, connected, _ = await open_socket(application, f"/ws/runs/{run.pk}/", client, viewer,
                                        origin=(b"origin", b"http://evil.example"))
    assert not connected


async def test_it_closes_unknown_run_with_4404(layer, client, viewer):
    _, connected, code = await open_socket(application, "/ws/runs/987654/", client, viewer)
    assert (connected, code) == (False, CLOSE_NOT_FOUND)


async def test_snapshot_holds_state_points_and_log_tail(layer, client, viewer):
    def setup():
        run = make_run(total_steps=20, current_step=3, progress=0.15, eta_seconds=42.0)
        add_points(run, [1, 2, 3])
        add_points(run, [2], kind="eval")
        add_log_lines(run, [1, 2])
        return run

    run = await database_sync_to_async(setup)()
    communicator, connected, _ = await open_socket(application, f"/ws/runs/{run.pk}/", client, viewer)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot" and snapshot["resumed"] is False
    assert snapshot["run"]["status"] == "running"
    state = snapshot["run"]
    stored = {"progress": 0.15, "eta_seconds": 42.0, "total_steps": 20}  # the run's fields set in setup()
    assert {key: state[key] for key in stored} == stored
    points = [(p["kind"], p["step"]) for p in snapshot["points"]]
    assert points == [("train", 1), ("train", 2), ("train", 3), ("eval", 2)]
    assert snapshot["points"][0]["lr"] == 0.0002
    assert [line["text"] for line in snapshot["logs"]] == ["line 1", "line 2"]
    assert (snapshot["last_step"], snapshot["last_eval_step"], snapshot["last_log_seq"]) == (3, 2, 2)
    await communicator.disconnect()


async def test_live_points_status_and_logs_arrive(layer, client, viewer):
    run = await database_sync_to_async(make_run)()
    communicator, connected, _ = await open_socket(application, f"/ws/runs/{run.pk}/", client, viewer)
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"

    def work():
        events = add_points(run, [1, 2]) + add_points(run, [2], kind="eval") + add_log_lines(run, [1])
        _publish(run, events + [{"event": "status", "status": "succeeded", "progress": 1.0}])

    await sync_to_async(work)()
    messages = await receive_until(communicator, lambda ms: any(m["type"] == "run.status" for m in ms))
    assert train_steps(messages) == [1, 2]
    assert [m["type"] for m in messages] == ["run.metrics", "run.log", "run.status"]
    assert messages[0]["points"][-1] == {**messages[0]["points"][-1], "kind": "eval", "step": 2}
    assert messages[-1]["status"] == "succeeded"
    await communicator.disconnect()


async def test_resume_gets_exactly_the_missing_points_despite_the_subscribe_race(layer, client, viewer, monkeypatch):
    run = await database_sync_to_async(make_run)()
    await database_sync_to_async(add_points)(run, range(1, 11))
    await database_sync_to_async(add_log_lines)(run, range(1, 6))

    def racing_snapshot(run_id, after):
        # Written and published after the consumer subscribed but before it reads: in both.
        _publish(run, add_points(run, [11, 12]) + add_log_lines(run, [6]))
        assert broadcast.flush()
        snapshot = load_snapshot(run_id, after)
        # Written after the read: only live.
        _publish(run, add_points(run, [13, 14]))
        return snapshot

    monkeypatch.setattr(consumers, "load_snapshot", racing_snapshot)
    communicator, connected, _ = await open_socket(
        application, f"/ws/runs/{run.pk}/?after_step=4&after_log_seq=3", client, viewer)
    assert connected
    messages = await receive_until(communicator, lambda ms: 14 in train_steps(ms))
    assert messages[0]["type"] == "snapshot" and messages[0]["resumed"] is True
    assert train_steps(messages) == list(range(5, 15))
    log_seqs = [line["seq"] for m in messages for line in m.get("logs", m.get("lines", []))]
    assert log_seqs == [4, 5, 6]
    await communicator.disconnect()


async def test_resume_message_sends_the_rest(layer, client, viewer):
    run = await database_sync_to_async(make_run)()
    await database_sync_to_async(add_points)(run, range(1, 8))
    communicator, connected, _ = await open_socket(application, f"/ws/runs/{run.pk}/", client, viewer)
    assert connected
    assert train_steps([await communicator.receive_json_from(timeout=5)]) == list(range(1, 8))
    await communicator.send_json_to({"type": "resume", "after_step": 5})
    resumed = await communicator.receive_json_from(timeout=5)
    assert resumed["resumed"] is True and train_steps([resumed]) == [6, 7]
    await communicator.disconnect()


async def test_malformed_messages_get_an_error_frame_and_keep_the_connection(layer, client, viewer):
    run = await database_sync_to_async(make_run)()
    communicator, connected, _ = await open_socket(application, f"/ws/runs/{run.pk}/", client, viewer)
    assert connected
    await communicator.receive_json_from(timeout=5)
    for bad in ("{not json", "[1, 2]", '{"type": "dance"}', '{"type": "resume", "after_step": "ten"}'):
        await communicator.send_to(text_data=bad)
        error = await communicator.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["error"] and error["details"]
    assert "after_step" in error["error"]
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
    await communicator.disconnect()


async def test_slow_client_overflows_to_resync_without_blocking_the_publisher(layer, client, viewer, settings,
                                                                              monkeypatch):
    settings.LIVE_CLIENT_BUFFER = 4
    run = await database_sync_to_async(make_run)()
    gate = asyncio.Event()
    send_json, resync = RunConsumer.send_json, RunConsumer._resync

    async def stalled_send(self, content, close=False):
        await gate.wait()  # the client reads nothing until the consumer gave up on it
        await send_json(self, content, close)

    def resync_and_release(self, reason):
        resync(self, reason)
        gate.set()

    monkeypatch.setattr(RunConsumer, "send_json", stalled_send)
    monkeypatch.setattr(RunConsumer, "_resync", resync_and_release)
    communicator, connected, _ = await open_socket(application, f"/ws/runs/{run.pk}/", client, viewer)
    assert connected

    def publish_many():
        for step in range(1, 21):
            add_points(run, [step])
            # A status event closes the batch, so each call makes its own messages.
            _publish(run, [metric_event(step), {"event": "status", "status": "running", "progress": step / 20}])
        return gate.is_set()

    released_before_publisher_returned = await sync_to_async(publish_many)()
    assert released_before_publisher_returned is False  # the publisher never waited for the client
    messages = await receive_until(communicator, lambda ms: ms and ms[-1]["type"] == "resync", timeout=10)
    assert messages[0]["type"] == "snapshot"
    last_seen = max([-1] + train_steps(messages))
    await communicator.send_json_to({"type": "resume", "after_step": last_seen})
    rest = await receive_until(communicator, lambda ms: ms and ms[-1]["type"] == "snapshot", timeout=10)
    assert train_steps(messages) + train_steps(rest[-1:]) == list(range(1, 21))
    await communicator.disconnect()
