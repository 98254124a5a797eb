import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from academy_site.asgi import application
from jobs.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from tests.training.live_helpers import close_thread_connections, open_socket, session_cookie


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    yield
    await close_thread_connections()


@pytest.mark.django_db(transaction=True)
async def test_anonymous_websocket_is_refused():
    communicator, connected, code = await open_socket(application, "/ws/overview/")
    assert not connected
    assert code == CLOSE_UNAUTHENTICATED


@pytest.mark.django_db(transaction=True)
async def test_foreign_origin_is_refused(client, bob):
    cookie = await database_sync_to_async(session_cookie)(client, bob)
    communicator = WebsocketCommunicator(application, "/ws/overview/",
                                         headers=[(b"origin", b"http://evil.example"), cookie])
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_outsider_is_refused(client, dave):
    communicator, connected, code = await open_socket(application, "/ws/overview/", client, dave)
    assert not connected
    assert code == CLOSE_FORBIDDEN


@pytest.mark.django_db(transaction=True)
async def test_signed_in_viewer_receives_counts_and_errors_on_bad_messages(client, bob):
    communicator, connected, code = await open_socket(application, "/ws/overview/", client, bob)
    assert connected, code
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "overview.counts"
    assert {"key": "users", "label": "Users", "value": 1, "url": "/admin/auth/user/"} in message["counts"]
    await communicator.send_to(text_data="{not json")
    assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
    await communicator.send_json_to({"type": "refresh"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "overview.counts"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_overview_keeps_the_runs_list_live(client, viewer, settings):
    from jobs import broadcast
    from jobs.models import JobStatus
    from tests.training.factories import add_points, make_run

    settings.LIVE_BATCH_WINDOW_MS = 20
    run = await database_sync_to_async(make_run)()
    await database_sync_to_async(add_points)(run, [1, 2])
    communicator, connected, _ = await open_socket(application, "/ws/overview/", client, viewer)
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    listed = {r["id"]: r for r in first["runs"]}
    assert listed[run.pk]["status"] == JobStatus.RUNNING and listed[run.pk]["step"] == 2

    broadcast.set_server_loop(asyncio.get_running_loop())
    broadcast.publish_job_events(run.group_name, [{"event": "metric", "step": 3, "loss": 0.125, "ts": 1.0}])
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "overview.run", "run": {"id": run.pk, "step": 3, "loss": 0.125}}

    from training.models import TrainingRun

    await database_sync_to_async(TrainingRun.objects.filter(pk=run.pk).update)(status=JobStatus.SUCCEEDED)
    broadcast.publish_overview()
    changed = await communicator.receive_json_from(timeout=5)
    assert changed["type"] == "overview.counts"
    assert {r["id"]: r for r in changed["runs"]}[run.pk]["status"] == JobStatus.SUCCEEDED
    await communicator.disconnect()
