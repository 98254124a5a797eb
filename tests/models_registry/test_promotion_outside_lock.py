"""With OLLAMA_HOST set, a promotion creates the version's Ollama model before it locks anything, and
moves the line's tag (POST /api/copy) after commit: the database takes other writes while Ollama is
busy, a failed create changes nothing, and a failed tag move is written on the activation."""

import json
import threading
import urllib.request

import pytest
from django.db import connection, connections, transaction
from django.utils.html import escape

from models_registry import services
from models_registry.models import Activation, ModelLine, ModelVersion, VersionStatus
from tests.factories import make_user
from tests.models_registry.factories import make_line, make_version
from tests.models_registry.fake_ollama import FakeOllamaServer


@pytest.fixture
def ollama_server(settings):
    with FakeOllamaServer() as server:
        settings.OLLAMA_HOST = server.url
        yield server


def _short_lock_wait() -> None:
    """This connection gives up on a lock after a few seconds instead of the server's default."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET lock_timeout = '3s'")
        else:
            cursor.execute("PRAGMA busy_timeout = 3000")


@pytest.mark.django_db(transaction=True)
def test_other_writers_write_while_ollama_creates_the_model_and_the_tag_then_moves(ollama_server):
    admin = make_user("root", "Admin")
    line = make_line(ollama_base="llama3.2:1b")
    version = make_version(line)
    creating = ollama_server.hold("/api/create")
    outcome = {}

    def promote():
        try:
            outcome["activation"] = services.promote_version(version, admin, "ship it")
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            outcome["error"] = repr(exc)
        finally:
            connections.close_all()

    promotion = threading.Thread(target=promote)
    promotion.start()
    try:
        assert creating.entered.wait(timeout=30), "the promotion never asked Ollama to create the model"
        _short_lock_wait()
        # The line's own row, the one a promotion locks: written while Ollama is still creating.
        with transaction.atomic():
            assert ModelLine.objects.filter(pk=line.pk).update(description="edited during the promotion") == 1
        assert promotion.is_alive()  # the promotion is still waiting for Ollama
    finally:
        creating.release()
        promotion.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.ACTIVE
    assert ModelLine.objects.get(pk=line.pk).description == "edited during the promotion"
    assert ollama_server.paths()[-2:] == ["POST /api/create", "POST /api/copy"]
    assert ollama_server.requests[-1]["json"] == {"source": "venom-coder:v1", "destination": "venom-coder:latest"}
    assert ollama_server.model("venom-coder:latest") is ollama_server.model("venom-coder:v1")
    assert ollama_server.model("venom-coder")["model"] == "venom-coder:v1"
    assert Activation.objects.get(to_version=version).note == ""


@pytest.mark.django_db
def test_a_tag_that_cannot_be_moved_after_commit_is_written_on_the_activation(client, alice, ollama_server, promote):
    line = make_line(ollama_base="llama3.2:1b")
    v1, v2 = make_version(line), make_version(line)
    promote(v1, alice, "first")
    ollama_server.fail["/api/copy"] = (500, "no space left on device")
    activation = promote(v2, alice, "second")
    assert line.active_version() == v2  # the database keeps what it committed
    assert ollama_server.model("venom-coder:latest")["model"] == "venom-coder:v1"
    note = Activation.objects.get(pk=activation.pk).note
    assert "venom-coder:v2 is active, but Ollama's tag venom-coder:latest was not moved to it" in note
    assert "no space left on device" in note and note.endswith("ollama cp venom-coder:v2 venom-coder:latest")
    client.force_login(alice)
    assert escape(note) in client.get(f"/models/{line.name}/").content.decode()


@pytest.mark.django_db
def test_the_tag_ends_on_the_later_activation_whatever_order_the_after_commit_steps_run(
        alice, ollama_server, django_capture_on_commit_callbacks):
    line = make_line(ollama_base="llama3.2:1b")
    v1, v2 = make_version(line), make_version(line)
    with django_capture_on_commit_callbacks() as first:
        services.promote_version(v1, alice, "first")
    with django_capture_on_commit_callbacks() as second:
        services.promote_version(v2, alice, "second")
    for callback in [*second, *first]:  # v1's step runs last, after v2 became active
        callback()
    assert ollama_server.model("venom-coder:latest")["model"] == "venom-coder:v2"
    assert not Activation.objects.exclude(note="").exists()


@pytest.mark.django_db
def test_a_failed_create_is_refused_before_the_line_is_touched(alice, ollama_server, promote):
    line = make_line(ollama_base="llama3.2:1b")
    v1, v2 = make_version(line), make_version(line)
    promote(v1, alice, "first")
    ollama_server.fail["/api/create"] = (500, "disk full")
    with pytest.raises(services.RegistryError, match=r"not activated, nothing changed: Ollama failed: .*disk full"):
        promote(v2, alice, "second")
    assert line.active_version() == v1 and ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.CANDIDATE
    assert Activation.objects.filter(line=line).count() == 1
    assert ollama_server.paths().count("POST /api/copy") == 1  # only the first promotion's


# ---- the fake copies as Ollama's CopyHandler does (server/routes.go)


def _copy(server, raw: bytes) -> tuple[int, str]:
    """(status, error text or "") of POST /api/copy."""
    request = urllib.request.Request(server.url + "/api/copy", data=raw, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["error"]


def test_fake_ollama_copies_as_ollama_does():
    with FakeOllamaServer() as server:
        cases = [
            (b"", 400, "missing request body"),
            (json.dumps({"source": "llama3.2:1b", "destination": 7}).encode(), 400, "cannot unmarshal"),
            (json.dumps({"destination": "mine:latest"}).encode(), 400, 'source "" is invalid'),
            (json.dumps({"source": "llama3.2:1b", "destination": "bad name"}).encode(), 400,
             'destination "bad name" is invalid'),
            (json.dumps({"source": "llama3.2:1b", "destination": "ns.dot/m:t"}).encode(), 400, "is invalid"),
            (json.dumps({"source": "nowhere:1b", "destination": "mine:latest"}).encode(), 404,
             'model "nowhere:1b" not found'),
        ]
        for raw, status, error in cases:
            got, text = _copy(server, raw)
            assert got == status and error in text, (raw, got, text)
        assert _copy(server, json.dumps({"source": "LLAMA3.2:1B", "destination": "mine"}).encode()) == (200, "")
        assert server.model("mine:latest") is server.model("llama3.2:1b")  # defaults filled in, case ignored
        assert _copy(server, json.dumps({"source": "gemma2:2b", "destination": "Mine:Latest"}).encode())[0] == 200
        assert server.model("mine")["architecture"] == "gemma2"  # the destination is overwritten
        assert "Mine:Latest" not in server.models  # under the name it already had
