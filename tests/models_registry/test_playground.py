"""The playground's chat endpoint: a session twin of /v1 that any version of a line answers."""

import json

import pytest
from django.test import Client

from models_registry import services
from models_registry.serving import admission, runtime
from tests.factories import bearer, make_token
from tests.models_registry.factories import make_line, make_version

QUESTION = {"messages": [{"role": "user", "content": "What is a lesson?"}], "max_tokens": 12}

pytestmark = pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators")


@pytest.fixture
def line(db, toy, alice):
    """v1 (adapter a) active, v2 (adapter b) a candidate."""
    line = make_line(base_model=str(toy["base"]))
    services.promote_version(make_version(line, adapter_src=toy["a"]), alice, "first")
    make_version(line, adapter_src=toy["b"])
    return line


def _chat(client, label, **body):
    return client.post(f"/models/venom-coder/{label}/chat", {**QUESTION, **body}, content_type="application/json")


def _events(response) -> list:
    raw = b"".join(response).decode()
    assert raw.endswith("data: [DONE]\n\n")
    return [json.loads(b[len("data: "):]) for b in raw.split("\n\n") if b and b != "data: [DONE]"]


def _text(events) -> str:
    return "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])


def test_it_refuses_anonymous_users(client, line):
    response = _chat(client, "v2")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert admission.in_flight() == 0


def test_it_refuses_users_without_a_role(client, line, dave):
    client.force_login(dave)
    assert _chat(client, "v2").status_code == 403


def test_a_token_is_not_a_session(client, line, viewer):
    """The endpoint is for the signed-in dashboard; an agent with a token uses /v1."""
    response = client.post("/models/venom-coder/v2/chat", QUESTION, content_type="application/json",
                           **bearer(make_token(viewer, "Viewer")))
    assert response.status_code == 302


def test_it_refuses_a_post_without_the_csrf_token(line, viewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    assert _chat(client, "v2").status_code == 403
    page = client.get("/models/venom-coder/v2/")
    token = page.context["csrf_token"]
    response = client.post("/models/venom-coder/v2/chat", QUESTION, content_type="application/json",
                           HTTP_X_CSRFTOKEN=str(token))
    assert response.status_code == 200 and response["X-Academy-Version"] == "venom-coder:v2"
    b"".join(response)


def test_it_streams_the_chosen_versions_tokens(client, line, viewer):
    client.force_login(viewer)
    whole = _chat(client, "v2", stream=False)
    assert whole["X-Academy-Version"] == "venom-coder:v2"
    assert whole.json()["system_fingerprint"] == "venom-coder:v2"
    response = _chat(client, "v2")  # streaming is the playground's default
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    assert response["X-Academy-Version"] == "venom-coder:v2"
    events = _events(response)
    pieces = [e for e in events if e["choices"] and e["choices"][0]["delta"].get("content")]
    assert len(pieces) > 1  # token by token, not one block
    assert _text(events) == whole.json()["choices"][0]["message"]["content"]
    assert admission.in_flight() == 0


def test_two_versions_with_different_adapters_answer_differently(client, line, viewer):
    client.force_login(viewer)
    answers = {}
    for label in ("v1", "v2"):
        response = _chat(client, label)
        assert response["X-Academy-Version"] == f"venom-coder:{label}"
        answers[label] = _text(_events(response))
    assert answers["v1"] and answers["v2"] and answers["v1"] != answers["v2"]


def test_asking_a_candidate_leaves_the_active_version_serving(client, line, viewer):
    client.force_login(viewer)
    agent = bearer(make_token(viewer, "Viewer"))

    def ask_v1():
        return client.post("/v1/chat/completions", {"model": "venom-coder", **QUESTION},
                           content_type="application/json", **agent).json()

    before = ask_v1()
    assert before["system_fingerprint"] == "venom-coder:v1"
    asked = _chat(client, "v2")
    assert asked["X-Academy-Version"] == "venom-coder:v2" and _text(_events(asked))
    candidate = line.versions.get(label="v2")
    engine = runtime.engine_for(candidate.base_model)
    assert candidate.adapter_name not in engine.adapters  # unloaded with its last lease
    assert ask_v1()["choices"] == before["choices"]
    assert line.active_version().label == "v1"


def test_it_shares_the_serving_queue_with_v1(client, line, viewer, settings):
    client.force_login(viewer)
    settings.SERVING_QUEUE_DEPTH = 0
    admission.enter()  # a /v1 request is generating
    try:
        response = _chat(client, "v2")
    finally:
        admission.leave()
    assert response.status_code == 429 and response.json()["error"]["code"] == "queue_full"
    assert "Retry-After" in response


def test_it_names_the_bad_field_and_its_limits_are_v1s(client, line, viewer, settings):
    client.force_login(viewer)
    response = client.post("/models/venom-coder/v2/chat", {"max_tokens": 5}, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["param"] == "messages"
    response = _chat(client, "v2", max_tokens=settings.SERVING_MAX_TOKENS + 1)
    assert response.status_code == 400 and response.json()["error"]["param"] == "max_tokens"
    response = client.post("/models/venom-coder/v2/chat", "[1]", content_type="application/json")
    assert response.status_code == 400
    assert admission.in_flight() == 0


def test_it_answers_404_for_a_version_of_another_line(client, line, viewer):
    client.force_login(viewer)
    assert client.post("/models/venom-coder/v9/chat", QUESTION, content_type="application/json").status_code == 404
    assert client.post("/models/other/v1/chat", QUESTION, content_type="application/json").status_code == 404


def test_the_version_page_offers_every_version_beside_the_active_one(client, line, viewer):
    client.force_login(viewer)
    page = client.get("/models/venom-coder/v2/").content.decode()
    assert 'id="playground"' in page and "js/playground.js" in page
    left, right = page.split('data-column="1"')[1].split('data-column="2"')
    assert 'value="/models/venom-coder/v2/chat" data-label="venom-coder:v2" selected' in left
    assert 'value="/models/venom-coder/v1/chat" data-label="venom-coder:v1" selected' in right
    assert '<option value="">— none —</option>' in right
