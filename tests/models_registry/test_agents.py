import json
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from academy_site.asgi import application
from curation.models import DatasetSnapshot
from jobs.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from models_registry import services
from models_registry.models import VersionStatus
from tests.factories import bearer, make_token, make_user
from tests.models_registry.factories import make_line, make_version, write_fake_adapter

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


@pytest.fixture
def line(db):
    return make_line()


def test_active_endpoint_returns_version_adapter_and_prompt_with_etag(client, line, alice, viewer):
    version = make_version(line)
    services.promote_version(version, alice, "go")
    headers = bearer(make_token(viewer, "Viewer"))
    response = client.get("/api/v1/lines/venom-coder/active", **headers)
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "v1" and body["adapter"]["sha256"] == version.adapter_files["adapter_model.safetensors"]
    assert body["prompt"]["style"] == "chat_template" and body["activated_at"]
    etag = response["ETag"]
    cached = client.get("/api/v1/lines/venom-coder/active", HTTP_IF_NONE_MATCH=etag, **headers)
    assert cached.status_code == 304 and cached.content == b""
    services.promote_version(make_version(line), alice, "next")
    changed = client.get("/api/v1/lines/venom-coder/active", HTTP_IF_NONE_MATCH=etag, **headers)
    assert changed.status_code == 200 and changed.json()["version"] == "v2"


def test_active_endpoint_errors(client, line, viewer, dave):
    assert client.get("/api/v1/lines/venom-coder/active").status_code == 401
    response = client.get("/api/v1/lines/venom-coder/active", **bearer(make_token(viewer, "Viewer")))
    assert response.status_code == 404 and "no active version" in response.json()["error"]
    assert client.get("/api/v1/lines/nope/active", **bearer(make_token(viewer, "Viewer"))).status_code == 404


def test_finished_run_registers_a_candidate_with_the_active_version_as_parent(db, alice):
    from training.models import TrainingRun

    snapshot = DatasetSnapshot.objects.create(name="s", sha256="a" * 64, format="alpaca", path="datasets/x.jsonl",
                                              row_count=1, train_count=1, eval_count=0)
    first = TrainingRun.objects.create(dataset=snapshot, base_model="toy/base", run_dir="runs/1",
                                       hyperparameters={"model_line": "coder"}, status="succeeded")
    write_fake_adapter("runs/1/adapter")
    v1 = services.register_run_version(first)
    assert (v1.line.name, v1.label, v1.status, v1.parent) == ("coder", "v1", VersionStatus.CANDIDATE, None)
    assert v1.metrics["training"] == {"train_loss": 1.0} and v1.metrics["eval"] == {"eval_loss": 1.2}
    assert set(v1.adapter_files) == {"adapter_config.json", "adapter_model.safetensors", "academy_adapter.json"}
    assert services.register_run_version(first) == v1  # safe to repeat
    services.promote_version(v1, alice, "go")
    second = TrainingRun.objects.create(dataset=snapshot, base_model="toy/base", run_dir="runs/2",
                                        hyperparameters={"model_line": "coder"}, status="succeeded")
    write_fake_adapter("runs/2/adapter", weights=b"other")
    v2 = services.register_run_version(second)
    assert (v2.label, v2.parent, v2.dataset) == ("v2", v1, snapshot)


def test_registration_is_hooked_into_training():
    from models_registry.services import register_run_version
    from training.services import on_run_succeeded

    assert register_run_version in on_run_succeeded


def test_registration_refuses_a_run_without_adapter_metadata(db):
    from models_registry.adapters import AdapterError
    from training.models import TrainingRun

    snapshot = DatasetSnapshot.objects.create(name="s", sha256="b" * 64, format="alpaca", path="datasets/x.jsonl",
                                              row_count=1, train_count=1, eval_count=0)
    run = TrainingRun.objects.create(dataset=snapshot, base_model="toy/base", run_dir="runs/9")
    (Path(settings.DATA_DIR) / "runs/9/adapter").mkdir(parents=True)
    with pytest.raises(AdapterError, match="academy_adapter.json is missing"):
        services.register_run_version(run)


@pytest.fixture
async def close_db_after():
    """Close the sync thread's connection so PostgreSQL can drop the test database."""
    yield
    from django.db import connections

    await database_sync_to_async(connections.close_all)()


def _setup_socket_case():
    line = make_line()
    version = make_version(line)
    admin = make_user("root", "Admin")
    agent = make_user("agent", "Viewer")
    return line, version, admin, make_token(agent, "Viewer")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["header", "query"])
async def test_agent_with_token_receives_model_activated(how, close_db_after):
    line, version, admin, token = await database_sync_to_async(_setup_socket_case)()
    if how == "header":
        communicator = WebsocketCommunicator(application, "/ws/lines/venom-coder/",
                                             headers=[HOST, ORIGIN, (b"authorization", f"Bearer {token}".encode())])
    else:
        communicator = WebsocketCommunicator(application, f"/ws/lines/venom-coder/?token={token}",
                                             headers=[HOST, ORIGIN])
    connected, code = await communicator.connect(timeout=5)
    assert connected, code
    state = await communicator.receive_json_from(timeout=5)
    assert state == {"type": "line.state", "line": "venom-coder", "active": None}
    await database_sync_to_async(services.promote_version)(version, admin, "go")
    event = await communicator.receive_json_from(timeout=5)
    assert event["type"] == "model.activated"
    assert (event["line"], event["version"], event["kind"]) == ("venom-coder", "v1", "promote")
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_activation_while_the_socket_reads_the_lines_state_still_reaches_it(close_db_after, monkeypatch):
    from channels.layers import get_channel_layer

    from models_registry import consumers

    line, version, admin, token = await database_sync_to_async(_setup_socket_case)()
    read_state = consumers._line_state

    async def activated_meanwhile(name):
        state = await read_state(name)
        await get_channel_layer().group_send(line.group_name, {"type": "model.activated", "line": name,
                                                               "version": "v1", "kind": "promote"})
        return state

    monkeypatch.setattr(consumers, "_line_state", activated_meanwhile)
    communicator = WebsocketCommunicator(application, f"/ws/lines/venom-coder/?token={token}", headers=[HOST, ORIGIN])
    connected, code = await communicator.connect(timeout=5)
    assert connected, code
    assert (await communicator.receive_json_from(timeout=5))["type"] == "line.state"
    assert (await communicator.receive_json_from(timeout=5))["version"] == "v1"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_socket_refuses_bad_token_outsider_and_unknown_line(close_db_after):
    line, version, admin, token = await database_sync_to_async(_setup_socket_case)()
    outsider = await database_sync_to_async(make_user)("nobody")
    cases = [("/ws/lines/venom-coder/?token=aca_wrong", [HOST, ORIGIN], CLOSE_UNAUTHENTICATED),
             ("/ws/lines/venom-coder/", [HOST, ORIGIN], CLOSE_UNAUTHENTICATED),
             (f"/ws/lines/nope/?token={token}", [HOST, ORIGIN], CLOSE_NOT_FOUND)]
    for path, headers, expected in cases:
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=5)
        assert (connected, code) == (False, expected), path
    from django.test import Client

    client = Client()
    await database_sync_to_async(client.force_login)(outsider)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    communicator = WebsocketCommunicator(application, "/ws/lines/venom-coder/", headers=[HOST, ORIGIN, cookie])
    assert await communicator.connect(timeout=5) == (False, CLOSE_FORBIDDEN)


def test_event_payload_is_json_serializable(line, alice):
    from models_registry.events import activation_event

    activation = services.promote_version(make_version(line), alice, "go")
    assert json.loads(json.dumps(activation_event(activation.to_version, activation)))["version"] == "v1"


def test_the_activation_event_gives_the_active_version_in_the_shape_the_line_socket_and_api_use(line, alice):
    from models_registry.events import activation_event

    activation = services.promote_version(make_version(line), alice, "go")
    event = activation_event(activation.to_version, activation)
    active = activation.to_version.active_dict()
    assert {key: event[key] for key in active} == active
    assert (event["type"], event["kind"], event["from_version"]) == ("model.activated", "promote", None)


@pytest.mark.django_db(transaction=True)
async def test_overview_subscribers_also_get_model_activated(close_db_after):
    line, version, admin, token = await database_sync_to_async(_setup_socket_case)()
    from django.test import Client

    client = Client()
    await database_sync_to_async(client.force_login)(admin)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    communicator = WebsocketCommunicator(application, "/ws/overview/", headers=[HOST, ORIGIN, cookie])
    connected, code = await communicator.connect(timeout=5)
    assert connected, code
    assert (await communicator.receive_json_from(timeout=5))["type"] == "overview.counts"
    await database_sync_to_async(services.promote_version)(version, admin, "go")
    for _ in range(5):  # overview may interleave its own messages
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "model.activated":
            break
    assert message["type"] == "model.activated" and message["version"] == "v1"
    await communicator.disconnect()
