import threading
import time

import pytest

from models_registry import services
from models_registry.models import ModelVersion, VersionStatus
from models_registry.serving import runtime
from models_registry.serving.chat import complete
from tests.factories import bearer, make_token
from tests.models_registry.factories import make_line

CHAT = {"model": "venom-coder", "messages": [{"role": "user", "content": "What is a lesson?"}], "max_tokens": 6}


@pytest.fixture
def agent(viewer):
    return bearer(make_token(viewer, "Viewer"))


def _ask(client, headers, body=CHAT):
    return client.post("/v1/chat/completions", body, content_type="application/json", **headers)


def test_it_answers_through_the_base_model_and_active_adapter(client, served, agent):
    response = _ask(client, agent)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["system_fingerprint"] == "venom-coder:v1"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["usage"]["completion_tokens"] <= 6
    assert _ask(client, agent).json()["choices"] == body["choices"]  # greedy: deterministic


def test_models_lists_lines_with_an_active_version(client, served, agent):
    make_line(name="idle-line")
    ids = [m["id"] for m in client.get("/v1/models", **agent).json()["data"]]
    assert ids == ["venom-coder"]


def test_no_active_version_gives_503_json(client, db, agent):
    make_line()
    response = _ask(client, agent)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "no_active_version"
    assert response.json()["error"]["message"].startswith("model line 'venom-coder' has no active version")


def test_it_requires_a_token_and_rejects_bad_requests(client, served, agent):
    assert _ask(client, {}).status_code == 401
    response = _ask(client, agent, {"model": "venom-coder", "messages": [], "max_tokens": 6})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"
    response = _ask(client, agent, {**CHAT, "max_tokens": 0})
    assert response.json()["error"]["param"] == "max_tokens"
    assert _ask(client, agent, {**CHAT, "model": "nope"}).status_code == 404


def test_promotion_during_concurrent_requests_swaps_without_failures(
        client, served, agent, alice, settings, django_capture_on_commit_callbacks):
    # The request threads run the completion the endpoint runs; a long TTL keeps them off
    # the test database (its open transaction would lock SQLite tables), so the swap they
    # see is the one the promotion triggers in this process.
    settings.SERVING_ACTIVE_TTL = 3600
    line, v1, v2 = served
    before = _ask(client, agent).json()
    answers, failures = [], []  # answers: (thread index, version label), in completion order
    stop = threading.Event()

    def hammer(index):
        while not stop.is_set():
            try:
                served_by, _ = complete(line.name, CHAT["messages"], max_tokens=6)
                answers.append((index, served_by.label))
            except Exception as exc:  # any failure is a failed request
                failures.append(repr(exc))

    def wait_for(predicate):
        deadline = time.monotonic() + 60
        while not predicate() and not failures and time.monotonic() < deadline:
            time.sleep(0.005)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(answers) >= 5)
        engine = runtime.engine_for(line.base_model)
        with django_capture_on_commit_callbacks(execute=True):
            services.promote_version(v2, alice, "swap under load")
        wait_for(lambda: sum(label == "v2" for _, label in answers) >= 5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    after = _ask(client, agent).json()
    assert failures == []
    labels = [label for _, label in answers]
    assert labels[:3] == ["v1"] * 3 and labels.count("v2") >= 5
    # A request in flight during the swap may still finish on v1 after others answered v2,
    # but no thread ever goes back to v1 once it has been answered by v2.
    for index in range(3):
        own = [label for i, label in answers if i == index]
        assert own == sorted(own), f"thread {index} went back to v1: {own}"
    assert after["system_fingerprint"] == "venom-coder:v2"
    assert after["choices"][0]["message"]["content"] != before["choices"][0]["message"]["content"]
    assert runtime.engine_for(line.base_model) is engine  # the base model was not reloaded
    assert engine.adapters == {v2.adapter_name}  # the old adapter was unloaded once idle


def test_a_promotion_made_elsewhere_is_picked_up_on_the_next_request(client, served, agent, settings):
    settings.SERVING_ACTIVE_TTL = 0
    line, v1, v2 = served
    assert _ask(client, agent).json()["system_fingerprint"] == "venom-coder:v1"
    # Another process promoted v2: only the database changed.
    ModelVersion.objects.filter(pk=v1.pk).update(status=VersionStatus.ARCHIVED)
    ModelVersion.objects.filter(pk=v2.pk).update(status=VersionStatus.ACTIVE)
    assert _ask(client, agent).json()["system_fingerprint"] == "venom-coder:v2"


def test_rollback_swaps_back_to_the_earlier_adapter(client, served, agent, alice, settings,
                                                   django_capture_on_commit_callbacks):
    settings.SERVING_ACTIVE_TTL = 3600  # only the promotion's own swap can explain a change
    line, v1, v2 = served
    first = _ask(client, agent).json()["choices"]
    with django_capture_on_commit_callbacks(execute=True):
        services.promote_version(v2, alice, "up")
    assert _ask(client, agent).json()["system_fingerprint"] == "venom-coder:v2"
    with django_capture_on_commit_callbacks(execute=True):
        services.rollback_line(line, alice, "down")
    response = _ask(client, agent).json()
    assert response["system_fingerprint"] == "venom-coder:v1"
    assert response["choices"] == first
