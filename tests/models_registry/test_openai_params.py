"""/v1/chat/completions parameters, limits and error shape (in-process, the toy model)."""

import json

import pytest

from models_registry import services
from models_registry.serving import admission
from models_registry.serving.stops import StopScanner
from tests.factories import bearer, make_token
from tests.models_registry.factories import make_line, make_version

CHAT = {"model": "venom-coder", "messages": [{"role": "user", "content": "What is a lesson?"}], "max_tokens": 12}


@pytest.fixture
def served(db, toy, alice):
    line = make_line(base_model=str(toy["base"]))
    services.promote_version(make_version(line, adapter_src=toy["a"]), alice, "first")
    return line


@pytest.fixture
def agent(viewer):
    return bearer(make_token(viewer, "Viewer"))


def _ask(client, headers, **overrides):
    return client.post("/v1/chat/completions", {**CHAT, **overrides}, content_type="application/json", **headers)


def _error(response) -> dict:
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize("name, value", [("tools", [{"type": "function"}]), ("logprobs", True),
                                         ("frequency_penalty", 0.5), ("logit_bias", {"1": 2}),
                                         ("response_format", {"type": "json_object"})])
def test_it_refuses_each_unsupported_parameter_by_name(client, served, agent, name, value):
    response = _ask(client, agent, **{name: value})
    assert response.status_code == 400
    error = _error(response)
    assert error["param"] == name and error["code"] == "unsupported_parameter"
    assert error["type"] == "invalid_request_error" and name in error["message"]


def test_it_accepts_neutral_values_and_caller_descriptions(client, served, agent):
    response = _ask(client, agent, frequency_penalty=0, presence_penalty=0, logprobs=False, user="agent-7")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("name, value", [("n", 0), ("n", 99), ("temperature", 3), ("top_p", 0), ("seed", "x"),
                                         ("stop", ["a", "b", "c", "d", "e"]), ("max_tokens", 0), ("stream", "yes")])
def test_it_names_the_parameter_out_of_range(client, served, agent, name, value):
    response = _ask(client, agent, **{name: value})
    assert response.status_code == 400
    assert _error(response)["param"] == name


def test_n_returns_that_many_choices(client, served, agent):
    greedy = _ask(client, agent, n=2).json()
    assert [c["index"] for c in greedy["choices"]] == [0, 1]
    assert greedy["choices"][0]["message"] == greedy["choices"][1]["message"]  # greedy: identical
    assert greedy["usage"]["completion_tokens"] == sum(
        _ask(client, agent).json()["usage"]["completion_tokens"] for _ in range(2))


def test_a_seed_makes_sampling_reproducible(client, served, agent):
    sampled = dict(temperature=1.5, top_p=0.95, seed=7, n=3, max_tokens=24)
    first = _ask(client, agent, **sampled).json()["choices"]
    assert _ask(client, agent, **sampled).json()["choices"] == first
    texts = {c["message"]["content"] for c in first}
    assert len(texts) > 1  # each choice draws its own sample
    other = _ask(client, agent, **{**sampled, "seed": 8}).json()["choices"]
    assert other != first


def test_stop_cuts_the_answer_before_the_marker(client, served, agent):
    full = _ask(client, agent, max_tokens=24).json()["choices"][0]["message"]["content"]
    marker = full[len(full) // 2:len(full) // 2 + 2]
    assert marker.strip(), full
    cut = _ask(client, agent, max_tokens=24, stop=[marker]).json()["choices"][0]
    assert cut["message"]["content"] == full[:full.index(marker)]
    assert cut["finish_reason"] == "stop"


def test_a_prompt_beyond_the_context_gets_context_length_exceeded(client, served, agent):
    long = [{"role": "user", "content": "lesson " * 600}]
    response = _ask(client, agent, messages=long)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "context_length_exceeded" and error["param"] == "messages"
    assert "maximum context length is 512 tokens" in error["message"]
    # The completion counts too: a short prompt asking for more than is left is refused.
    short = _ask(client, agent, messages=[{"role": "user", "content": "lesson " * 300}], max_tokens=256)
    assert _error(short)["code"] == "context_length_exceeded"


def test_a_huge_prompt_is_refused_without_tokenizing_it(client, served, agent, monkeypatch):
    from models_registry.serving.engine import Engine

    def no_tokenizing(*args, **kwargs):
        raise AssertionError("a prompt that cannot fit was tokenized")

    monkeypatch.setattr(Engine, "encode", no_tokenizing)
    response = _ask(client, agent, messages=[{"role": "user", "content": "lesson " * 14_600}])  # ~100 KB
    error = _error(response)
    assert response.status_code == 400 and error["code"] == "context_length_exceeded"
    assert "you requested at least" in error["message"]


def test_each_generation_is_bounded_in_time(client, served, agent, settings):
    settings.SERVING_MAX_SECONDS = 0.0001
    settings.SERVING_MAX_TOKENS = 200
    choice = _ask(client, agent, max_tokens=200, temperature=1.0, seed=1).json()["choices"][0]
    body = _ask(client, agent, max_tokens=200, temperature=1.0, seed=1).json()
    assert body["usage"]["completion_tokens"] < 200
    assert choice["finish_reason"] == "length"


def test_a_full_queue_answers_429_with_retry_after(client, served, agent, settings):
    settings.SERVING_QUEUE_DEPTH = 0
    settings.SERVING_MAX_SECONDS = 12
    admission.enter()  # a request that is generating right now
    try:
        response = _ask(client, agent)
    finally:
        admission.leave()
    assert response.status_code == 429
    assert response["Retry-After"] == "12"
    error = _error(response)
    assert error["type"] == "rate_limit_error" and error["code"] == "queue_full"
    assert _ask(client, agent).status_code == 200
    assert admission.in_flight() == 0  # every answered request gave its slot back


def test_authentication_and_method_errors_are_openai_shaped(client, served, agent):
    response = _ask(client, {"HTTP_AUTHORIZATION": "Bearer nope"})
    assert response.status_code == 401 and _error(response)["code"] == "invalid_api_key"
    response = client.get("/v1/chat/completions", **agent)
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert _error(response)["type"] == "invalid_request_error"
    response = _ask(client, agent, model="nope")
    assert response.status_code == 404 and _error(response)["code"] == "model_not_found"


def _events(response) -> list:
    raw = b"".join(response).decode()
    assert raw.endswith("data: [DONE]\n\n")
    blocks = [b for b in raw.split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks)
    return [json.loads(b[len("data: "):]) for b in blocks[:-1]]


@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators")
def test_streaming_sends_openai_chunks_that_add_up_to_the_answer(client, served, agent):
    whole = _ask(client, agent).json()
    response = _ask(client, agent, stream=True, stream_options={"include_usage": True})
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    events = _events(response)
    assert {e["object"] for e in events} == {"chat.completion.chunk"}
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    assert text == whole["choices"][0]["message"]["content"]
    finish = [e["choices"][0]["finish_reason"] for e in events if e["choices"]]
    assert finish[-1] == whole["choices"][0]["finish_reason"] and set(finish[:-1]) == {None}
    assert events[-1]["choices"] == [] and events[-1]["usage"] == whole["usage"]
    assert admission.in_flight() == 0


def test_stop_markers_split_across_pieces_are_never_shown():
    scanner = StopScanner(["</s>", "STOP"])
    shown = "".join(scanner.push(p) for p in ["ab", "c<", "/", "s", ">tail"]) + scanner.flush()
    assert shown == "abc" and scanner.stopped
    scanner = StopScanner(["STOP"])
    shown = "".join(scanner.push(p) for p in ["ST", "ay ", "S", "T"]) + scanner.flush()
    assert shown == "STay ST" and not scanner.stopped
