import asyncio

import pytest
from channels.layers import get_channel_layer

from jobs import broadcast
from tests.training.live_helpers import use_layer
from training.live_snapshot import After, lttb, parse_after


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    use_layer(settings, request.param)
    settings.LIVE_BATCH_WINDOW_MS = 300
    broadcast.set_server_loop(None)
    return get_channel_layer()


async def _subscribe(layer, group):
    broadcast.set_server_loop(asyncio.get_running_loop())
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return channel


async def _receive(layer, channel):
    return await asyncio.wait_for(layer.receive(channel), timeout=5)


async def test_points_published_close_together_go_out_as_one_message(layer):
    channel = await _subscribe(layer, "run.901")
    broadcast.publish_job_events("run.901", [{"event": "metric", "step": 0, "loss": 2.0, "ts": 1.0}])
    assert [p["step"] for p in (await _receive(layer, channel))["payload"]["points"]] == [0]
    # Within the window after a send, later points wait and leave together.
    for step in (1, 2, 3):
        broadcast.publish_job_events("run.901", [{"event": "metric", "step": step, "loss": 1.0 / step,
                                                       "lr": 0.1, "epoch": 0.1 * step, "ts": 1.0}])
    message = await _receive(layer, channel)
    assert message["type"] == "job.event" and message["group"] == "run.901"
    assert message["payload"]["type"] == "run.metrics"
    assert [p["step"] for p in message["payload"]["points"]] == [1, 2, 3]
    assert message["payload"]["points"][0] == {"kind": "train", "step": 1, "epoch": 0.1, "loss": 1.0, "lr": 0.1,
                                               "ts": 1.0}


async def test_status_flushes_pending_points_first_and_keeps_order(layer):
    channel = await _subscribe(layer, "run.902")
    broadcast.publish_job_events("run.902", [
        {"event": "metric", "step": 5, "loss": 0.5, "ts": 1.0},
        {"event": "eval", "step": 5, "eval_loss": 0.7},
        {"event": "log", "seq": 9, "text": "hello", "ts": 2.0},
        {"event": "status", "status": "succeeded", "progress": 1.0},
        {"event": "done", "metrics": {"train_loss": 0.5}},
    ])
    messages = [await _receive(layer, channel) for _ in range(4)]
    payloads = [m["payload"] for m in messages]
    assert [p["type"] for p in payloads] == ["run.metrics", "run.log", "run.status", "run.done"]
    assert payloads[0]["points"][1] == {"kind": "eval", "step": 5, "epoch": None, "loss": 0.7, "ts": None}
    assert payloads[1]["lines"] == [{"seq": 9, "text": "hello", "ts": 2.0}]
    assert payloads[2] == {"type": "run.status", "status": "succeeded", "progress": 1.0}
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(seqs[0], seqs[0] + 4))
    assert len({m["origin"] for m in messages}) == 1


async def test_overview_hears_of_state_changes_and_latest_loss(layer):
    channel = await _subscribe(layer, broadcast.OVERVIEW_GROUP)
    broadcast.publish_overview()
    broadcast.publish_overview()
    broadcast.publish_job_events("run.903", [{"event": "metric", "step": 7, "loss": 0.25, "ts": 1.0}])
    messages = [await _receive(layer, channel) for _ in range(2)]
    assert {"type": "overview.run", "run": {"id": 903, "step": 7, "loss": 0.25}} in messages
    assert {"type": "overview.changed"} in messages
    assert broadcast.flush()
    with pytest.raises(asyncio.TimeoutError):  # the two overview calls were coalesced into one
        await asyncio.wait_for(layer.receive(channel), timeout=0.5)


async def test_a_worker_thread_hands_sends_to_the_server_loop(layer):
    channel = await _subscribe(layer, "run.904")

    def worker():
        broadcast.publish_job_events("run.904", [{"event": "status", "status": "running"}])
        return broadcast.flush()

    assert await asyncio.to_thread(worker)
    assert (await _receive(layer, channel))["payload"]["status"] == "running"


def test_lttb_keeps_the_ends_and_the_spike():
    rows = [(step, 1.0, None) for step in range(1000)]
    rows[500] = (500, 50.0, None)
    sampled = lttb(rows, 50, y=lambda row: row[1])
    assert len(sampled) == 50
    assert sampled[0] == rows[0] and sampled[-1] == rows[-1]
    assert rows[500] in sampled
    assert lttb(rows[:10], 50, y=lambda row: row[1]) == rows[:10]


@pytest.mark.parametrize("values, message", [
    ({"after_step": "x"}, "after_step must be an integer"),
    ({"after_log_seq": -5}, "after_log_seq must be -1 or more"),
    ({"after_step": True}, "after_step must be an integer"),
    ({"after_eval_step": [1]}, "after_eval_step must be an integer"),
])
def test_bad_resume_positions_are_named(values, message):
    with pytest.raises(ValueError, match=message):
        parse_after(values)


def test_resume_positions_default_eval_to_the_train_step():
    after = parse_after({"after_step": "12", "after_log_seq": 3})
    assert after == After(step=12, log_seq=3) and after.eval == 12 and after.resumed
    assert not parse_after({}).resumed


async def test_server_start_up_registers_its_loop(settings):
    from academy_site.lifespan import lifespan_app

    settings.EMBEDDED_WORKER = False
    broadcast.set_server_loop(None)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message["type"])

    await lifespan_app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert broadcast._server_loop is asyncio.get_running_loop()
