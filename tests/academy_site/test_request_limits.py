"""Request bodies: refused from the headers or while they stream in, and JSON the API cannot take."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from academy_site.asgi import application
from tests.factories import bearer, make_token
from tests.training.factories import make_snapshot

MB = 1024 * 1024
CHUNK = b"x" * MB


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    yield
    from tests.training.live_helpers import close_thread_connections

    await close_thread_connections()


class Client:
    """Speaks ASGI to the real application and counts how many body chunks it was made to read."""

    def __init__(self, chunks: int, chunk: bytes = CHUNK):
        self.chunks, self.chunk, self.read = chunks, chunk, 0
        self.sent: list[dict] = []

    async def receive(self):
        if self.read < self.chunks:
            self.read += 1
            return {"type": "http.request", "body": self.chunk, "more_body": self.read < self.chunks}
        await asyncio.sleep(3600)  # the client never disconnects by itself

    async def send(self, message):
        self.sent.append(message)

    async def request(self, path, *, method="POST", headers=()):
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"127.0.0.1:8000"), *headers], "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8000)}
        await asyncio.wait_for(application(scope, self.receive, self.send), timeout=60)
        return self

    @property
    def status(self):
        return next(m["status"] for m in self.sent if m["type"] == "http.response.start")

    @property
    def body(self):
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


@pytest.mark.django_db(transaction=True)
async def test_an_anonymous_60_mb_chunked_post_is_answered_401_without_reading_it():
    client = await Client(60).request("/api/v1/lessons")
    assert client.status == 401 and client.read == 0
    assert json.loads(client.body)["error"].startswith("authentication required")


@pytest.mark.django_db(transaction=True)
async def test_a_declared_length_over_the_limit_is_answered_413_without_reading_it():
    client = await Client(60).request("/api/v1/lessons", headers=[
        (b"authorization", b"Bearer whatever"), (b"content-length", str(60 * MB).encode())])
    assert client.status == 413 and client.read == 0


@pytest.mark.django_db(transaction=True)
async def test_a_chunked_body_over_the_limit_is_stopped_while_it_streams(settings):
    client = await Client(60).request("/api/v1/lessons", headers=[(b"authorization", b"Bearer whatever")])
    assert client.status == 413 and "too large" in json.loads(client.body)["error"]
    assert client.read <= settings.REQUEST_MAX_BODY_BYTES // MB + 1


@pytest.mark.django_db(transaction=True)
async def test_an_anonymous_form_post_may_carry_only_a_small_body(settings):
    client = await Client(10).request("/accounts/login/")
    assert client.status == 413 and client.read <= settings.ANONYMOUS_MAX_BODY_BYTES // MB + 1


@pytest.mark.django_db(transaction=True)
async def test_a_request_within_the_limits_reaches_the_view_with_its_body(bob, monkeypatch):
    from django.db import connections

    # The view runs in a thread of its own request; a persistent connection there would outlive the test.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    token = await database_sync_to_async(make_token)(bob, "Operator")
    body = json.dumps({"dataset": "0" * 64}).encode()
    client = await Client(1, body).request("/api/v1/runs", headers=[
        (b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json")])
    assert client.status == 400 and "dataset" in client.body.decode()  # parsed: the view saw the body


@pytest.mark.django_db
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_a_400_naming_them(client, bob, constant):
    sha = make_snapshot().sha256
    body = f'{{"dataset": "{sha}", "hyperparameters": {{"learning_rate": {constant}}}}}'
    response = client.post("/api/v1/runs", body, content_type="application/json",
                           **bearer(make_token(bob, "Operator")))
    assert response.status_code == 400
    assert response.json()["error"] == "malformed JSON" and constant in response.json()["details"][0]["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_is_a_400_naming_the_limit(client, bob, depth):
    body = '{"dataset": ' + "[" * depth + "]" * depth + "}"
    response = client.post("/api/v1/runs", body, content_type="application/json",
                           **bearer(make_token(bob, "Operator")))
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["details"][0]["message"]
