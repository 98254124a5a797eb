"""The consumer base: origin (with its port), session or token, permission, revocation; the live job socket."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from academy_site.asgi import application
from accounts.models import ApiToken
from accounts.services import revoke_api_token
from curation.models import DatasetBuild
from jobs import lifecycle
from jobs.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tests.factories import make_token
from tests.training.live_helpers import HOST, memory_layer, open_socket  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("memory_layer")]


async def _connect(path, headers):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_a_page_on_another_port_of_the_same_host_is_refused(client, viewer):
    _, connected, code = await open_socket(application, "/ws/overview/", client, viewer,
                                           origin=(b"origin", b"http://127.0.0.1:9000"))
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_another_scheme_on_the_same_host_and_port_is_refused(client, viewer):
    _, connected, code = await open_socket(application, "/ws/overview/", client, viewer,
                                           origin=(b"origin", b"https://127.0.0.1:8000"))
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_the_pages_own_origin_is_accepted_with_or_without_its_default_port(client, viewer):
    communicator, connected, _ = await open_socket(application, "/ws/overview/", client, viewer)
    assert connected
    await communicator.disconnect()
    headers = [(b"host", b"academy.example"), (b"origin", b"http://academy.example:80")]
    cookie = await database_sync_to_async(_cookie)(client, viewer)
    communicator, connected, _ = await _connect("/ws/overview/", headers + [cookie])
    assert connected
    await communicator.disconnect()


async def test_a_configured_origin_is_accepted(client, viewer, settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["https://dashboard.example:8443"]
    cookie = await database_sync_to_async(_cookie)(client, viewer)
    ok, connected, _ = await _connect("/ws/overview/", [HOST, (b"origin", b"https://dashboard.example:8443"), cookie])
    assert connected
    await ok.disconnect()
    _, connected, code = await _connect("/ws/overview/", [HOST, (b"origin", b"https://dashboard.example"), cookie])
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_a_token_socket_is_closed_once_the_token_is_revoked(viewer, settings):
    settings.WEBSOCKET_TOKEN_RECHECK_SECONDS = 0.1
    raw = await database_sync_to_async(make_token)(viewer, "Viewer")
    communicator, connected, code = await _connect(
        "/ws/overview/", [HOST, (b"authorization", f"Bearer {raw}".encode())])
    assert connected, code
    assert (await communicator.receive_json_from(timeout=5))["type"] == "overview.counts"

    def revoke():
        token = ApiToken.objects.get(user=viewer)
        revoke_api_token(token, by=viewer)

    await database_sync_to_async(revoke)()
    messages = []
    while True:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            break
        messages.append(output)
    assert output["code"] == CLOSE_UNAUTHENTICATED
    assert any("revoked" in m.get("text", "") for m in messages)


async def test_a_revoked_token_cannot_open_a_socket(viewer):
    raw = await database_sync_to_async(make_token)(viewer, "Viewer")

    def revoke():
        revoke_api_token(ApiToken.objects.get(user=viewer), by=viewer)

    await database_sync_to_async(revoke)()
    _, connected, code = await _connect("/ws/overview/", [HOST, (b"authorization", f"Bearer {raw}".encode())])
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)


async def test_an_agent_token_in_the_query_string_opens_a_socket(alice):
    raw = await database_sync_to_async(make_token)(alice, "Viewer")
    communicator, connected, _ = await _connect(f"/ws/overview/?token={raw}", [HOST])
    assert connected
    await communicator.disconnect()


async def test_the_job_socket_sends_the_state_then_live_progress(client, viewer):
    build = await database_sync_to_async(DatasetBuild.objects.create)(name="b", format="alpaca")
    communicator, connected, code = await open_socket(application, f"/ws/jobs/build/{build.pk}/", client, viewer)
    assert connected, code
    first = await communicator.receive_json_from(timeout=5)
    assert (first["type"], first["status"], first["id"]) == ("job.status", "queued", build.pk)

    def work():
        lifecycle.claim(DatasetBuild, build.pk, worker="w")
        lifecycle.report_progress(DatasetBuild, build.pk, 0.5)
        lifecycle.finish(DatasetBuild, build.pk)

    await sync_to_async(work)()
    seen = []
    while not seen or seen[-1].get("status") != "succeeded":
        seen.append(await communicator.receive_json_from(timeout=5))
    assert [m["type"] for m in seen][0] == "job.status" and seen[0]["status"] == "running"
    assert any(m["type"] == "job.progress" and m["progress"] == 0.5 for m in seen)
    assert seen[-1]["progress"] == 1.0 and seen[-1]["is_terminal"] is True
    await communicator.disconnect()


async def test_the_job_socket_refuses_outsiders_and_unknown_jobs(client, dave, viewer):
    build = await database_sync_to_async(DatasetBuild.objects.create)(name="b", format="alpaca")
    _, connected, code = await open_socket(application, f"/ws/jobs/build/{build.pk}/", client, dave)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)
    for path in ("/ws/jobs/build/987654/", f"/ws/jobs/nothing/{build.pk}/"):
        _, connected, code = await open_socket(application, path, client, viewer)
        assert (connected, code) == (False, CLOSE_NOT_FOUND), path
    _, connected, code = await open_socket(application, f"/ws/jobs/build/{build.pk}/")
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)


def _cookie(client, user):
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
