"""/v1/chat/completions bounds the work a request can cause before it answers: the number of
messages, the rendered prompt's size, and rendering and tokenizing only inside the admission queue."""

import json

import pytest

from models_registry import services
from models_registry.serving import admission
from tests.factories import bearer, make_token
from tests.models_registry.factories import make_line, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(viewer):
    return bearer(make_token(viewer, "Viewer"))


def _post(client, headers, body: str):
    return client.post("/v1/chat/completions", body, content_type="application/json", **headers)


def test_two_hundred_thousand_empty_messages_are_refused_by_count_before_rendering(client, agent, monkeypatch):
    from models_registry.serving import chat

    monkeypatch.setattr(chat, "render_prompt", lambda *a, **kw: pytest.fail("the messages were rendered"))
    make_line()
    body = json.dumps({"model": "venom-coder", "messages": [{"role": "user", "content": ""}] * 200_000})
    assert len(body) > 6_000_000  # the probe's payload
    response = _post(client, agent, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error == {"message": "messages: at most 1000 messages (got 200000)", "type": "invalid_request_error",
                     "param": "messages", "code": "too_many_messages"}


def test_the_message_limit_is_a_setting(client, agent, settings):
    settings.SERVING_MAX_MESSAGES = 2
    make_line()
    body = json.dumps({"model": "venom-coder", "messages": [{"role": "user", "content": "hi"}] * 3})
    assert _post(client, agent, body).json()["error"]["message"] == "messages: at most 2 messages (got 3)"


def test_preparing_a_request_waits_for_an_admission_slot(client, agent, settings):
    """With the queue full, even a request that preparing would refuse (no active version) gets 429."""
    settings.SERVING_QUEUE_DEPTH = 0
    make_line()
    body = json.dumps({"model": "venom-coder", "messages": [{"role": "user", "content": "hi"}]})
    admission.enter()  # a request generating right now
    try:
        full = _post(client, agent, body)
    finally:
        admission.leave()
    assert full.status_code == 429 and full.json()["error"]["code"] == "queue_full"
    refused = _post(client, agent, body)
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "no_active_version"
    assert admission.in_flight() == 0  # a refused preparation gives its slot back


def test_many_empty_messages_that_cannot_fit_once_rendered_are_refused_without_tokenizing(
        client, agent, toy, alice, monkeypatch):
    from models_registry.serving.engine import Engine

    line = make_line(base_model=str(toy["base"]))
    services.promote_version(make_version(line, adapter_src=toy["a"]), alice, "first")
    monkeypatch.setattr(Engine, "encode", lambda *a, **kw: pytest.fail("a prompt that cannot fit was tokenized"))
    body = json.dumps({"model": line.name, "messages": [{"role": "user", "content": ""}] * 1000})
    response = _post(client, agent, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded" and "at least" in error["message"]
    assert admission.in_flight() == 0
