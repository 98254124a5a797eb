import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from academy_site.asgi import application
from academy_site.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def _session_cookie(client, user):
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


@pytest.mark.django_db(transaction=True)
async def test_anonymous_websocket_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/overview/", headers=[ORIGIN])
    connected, code = await communicator.connect()
    assert not connected
    assert code == CLOSE_UNAUTHENTICATED


@pytest.mark.django_db(transaction=True)
async def test_foreign_origin_is_refused(client, bob):
    cookie = await database_sync_to_async(_session_cookie)(client, bob)
    communicator = WebsocketCommunicator(application, "/ws/overview/",
                                         headers=[(b"origin", b"http://evil.example"), cookie])
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_outsider_is_refused(client, dave):
    cookie = await database_sync_to_async(_session_cookie)(client, dave)
    communicator = WebsocketCommunicator(application, "/ws/overview/", headers=[ORIGIN, cookie])
    connected, code = await communicator.connect()
    assert not connected
    assert code == CLOSE_FORBIDDEN


@pytest.mark.django_db(transaction=True)
async def test_signed_in_viewer_receives_counts_and_errors_on_bad_messages(client, bob):
    cookie = await database_sync_to_async(_session_cookie)(client, bob)
    communicator = WebsocketCommunicator(application, "/ws/overview/", headers=[ORIGIN, cookie])
    connected, code = await communicator.connect(timeout=5)
    assert connected, code
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "overview.counts"
    assert {"key": "users", "label": "Users", "value": 1, "url": "/admin/auth/user/"} in message["counts"]
    await communicator.send_to(text_data="{not json")
    assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
    await communicator.send_json_to({"type": "refresh"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "overview.counts"
    await communicator.disconnect()
