"""Canary releases on the toy model: routing, stickiness, outcomes, and simulated agents driving decisions."""

import json
import random
from io import StringIO

import pytest
from django.core.management import call_command

from models_registry import canary as canaries
from models_registry import services
from models_registry.models import Activation, Canary, CanaryState, ServedCompletion, VersionStatus
from models_registry.serving import runtime
from tests.factories import bearer, make_token
from tests.models_registry.factories import make_served_line, make_version

CHAT = {"model": "venom-coder", "messages": [{"role": "user", "content": "What is a lesson?"}], "max_tokens": 1}
# Isolate the outcome test: the toy's latencies on a shared machine say nothing about the candidate.
QUIET_GUARDS = {"max_p95_ratio": 1000.0, "max_error_rate": 1.0}


@pytest.fixture
def served(db, toy, alice, settings):
    # Only the guard test below asks about latency; the toy's on a loaded machine would decide the others.
    settings.CANARY_MAX_P95_RATIO = QUIET_GUARDS["max_p95_ratio"]
    settings.CANARY_MAX_ERROR_RATE = QUIET_GUARDS["max_error_rate"]
    return make_served_line(toy, alice)


@pytest.fixture
def agent(bob):
    """An Operator token: it may chat and send outcomes."""
    return bearer(make_token(bob, "Operator"))


def _ask(client, headers, session=None, body=CHAT):
    extra = {"HTTP_X_ACADEMY_SESSION": session} if session else {}
    return client.post("/v1/chat/completions", body, content_type="application/json", **headers, **extra)


def _feedback(client, headers, body):
    return client.post("/api/v1/feedback", json.dumps(body), content_type="application/json", **headers)


def test_a_canary_splits_conversations_stickily_and_both_adapters_stay_loaded(client, served, agent, alice):
    line, v1, v2 = served
    canary = canaries.start_canary(v2, alice, share=0.5)
    seen = {}
    for i in range(30):
        response = _ask(client, agent, f"conversation-{i}")
        assert response.status_code == 200, response.content
        seen[i] = response["X-Academy-Version"]
    assert set(seen.values()) == {"venom-coder:v1", "venom-coder:v2"}
    for i in range(30):  # the same conversation always meets the same version
        assert _ask(client, agent, f"conversation-{i}")["X-Academy-Version"] == seen[i]
    expected = {i: "venom-coder:v2" if runtime.in_canary(canary.pk, f"session:conversation-{i}", 0.5)
                else "venom-coder:v1" for i in range(30)}
    assert seen == expected
    assert runtime.loaded_adapters(line.base_model) == {v1.adapter_name, v2.adapter_name}
    # Every completion is kept with its version and canary, under the id the agent saw.
    assert ServedCompletion.objects.filter(canary=canary).count() == 60
    assert ServedCompletion.objects.filter(canary=canary, version=v2).count() == 2 * list(seen.values()).count(
        "venom-coder:v2")


def test_without_a_session_header_the_token_keeps_one_version(client, served, agent, alice):
    _, _, v2 = served
    canaries.start_canary(v2, alice, share=0.5)
    versions = {_ask(client, agent)["X-Academy-Version"] for _ in range(5)}
    assert len(versions) == 1


def test_feedback_is_attached_once_and_bad_feedback_is_refused_clearly(client, served, agent, viewer):
    response = _ask(client, agent)
    completion_id = response.json()["id"]
    assert completion_id.startswith("chatcmpl-")
    answer = _feedback(client, agent, {"completion_id": completion_id, "outcome": "success", "score": 0.8,
                                       "words": "it compiled"})
    assert answer.status_code == 201, answer.content
    assert answer.json()["version"] == "v1"
    stored = ServedCompletion.objects.get(completion_id=completion_id)
    assert (stored.outcome, stored.score, stored.words) == ("success", 0.8, "it compiled")

    again = _feedback(client, agent, {"completion_id": completion_id, "outcome": "failure"})
    assert again.status_code == 409
    assert again.json()["details"] == [{"field": "completion_id", "message": again.json()["details"][0]["message"]}]
    assert "already has an outcome" in again.json()["error"]

    unknown = _feedback(client, agent, {"completion_id": "chatcmpl-nope", "outcome": "success"})
    assert unknown.status_code == 404 and unknown.json()["details"][0]["field"] == "completion_id"
    bad = _feedback(client, agent, {"completion_id": completion_id, "outcome": "great"})
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "outcome"
    bad = _feedback(client, agent, {"completion_id": completion_id, "outcome": "success", "score": 1.5})
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "score"
    bad = _feedback(client, agent, {"completion_id": completion_id, "outcome": "success", "extra": 1})
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "extra"
    # A Viewer may chat but not send outcomes; nobody without a token may.
    assert _feedback(client, bearer(make_token(viewer, "Viewer")),
                     {"completion_id": completion_id, "outcome": "success"}).status_code == 403
    assert _feedback(client, {}, {"completion_id": completion_id, "outcome": "success"}).status_code == 401


def test_another_users_completion_is_unknown_to_an_agent(client, served, agent, db):
    from tests.factories import make_user

    other = bearer(make_token(make_user("olga", "Operator"), "Operator"))
    completion_id = _ask(client, agent).json()["id"]
    assert _feedback(client, other, {"completion_id": completion_id, "outcome": "failure"}).status_code == 404


@pytest.fixture
def commits(settings):
    """Serving re-reads the line's active version and canary on every request: the test's transaction
    never commits, so the after-commit notices a decision sends in a real process never run."""
    settings.SERVING_ACTIVE_TTL = 0


def _simulate(client, agent, rates: dict, *, seed: int, limit: int) -> dict:
    """Conversations against /v1, each answered with an outcome drawn from its version's success rate."""
    rng = random.Random(seed)
    exposed = conversations = 0
    canary = Canary.objects.get(state=CanaryState.RUNNING)
    for i in range(limit):
        response = _ask(client, agent, f"sim-{seed}-{i}")
        assert response.status_code == 200, response.content
        conversations += 1
        label = response["X-Academy-Version"].split(":")[1]
        exposed += label == canary.candidate.label
        outcome = "success" if rng.random() < rates[label] else "failure"
        assert _feedback(client, agent, {"completion_id": response.json()["id"], "outcome": outcome}).status_code \
            == 201
        canary.refresh_from_db()
        if canary.state != CanaryState.RUNNING:
            break
    return {"canary": canary, "conversations": conversations, "exposed": exposed}


def test_simulated_agents_promote_a_better_candidate(client, served, agent, alice, commits):
    line, v1, v2 = served
    canaries.set_line_policy(line, alice, {"share": 0.5, **QUIET_GUARDS})
    canaries.start_canary(v2, alice)
    result = _simulate(client, agent, {"v1": 0.4, "v2": 0.9}, seed=1, limit=400)
    canary = result["canary"]
    assert canary.state == CanaryState.PROMOTED, canary.reason
    v2.refresh_from_db()
    assert v2.status == VersionStatus.ACTIVE
    promotion = Activation.objects.filter(line=line, to_version=v2, kind="promote").get()
    assert promotion.canary["state"] == "promoted" and promotion.canary["test"]["low"] > 0
    assert {_ask(client, agent, f"after-{i}")["X-Academy-Version"] for i in range(10)} == {"venom-coder:v2"}
    print(f"better candidate promoted after {result['conversations']} conversations")


def test_simulated_agents_roll_back_a_worse_candidate_and_exposure_is_bounded(client, served, agent, alice, commits):
    line, v1, v2 = served
    canaries.set_line_policy(line, alice, {"share": 0.5, **QUIET_GUARDS})
    canary = canaries.start_canary(v2, alice)
    result = _simulate(client, agent, {"v1": 0.8, "v2": 0.3}, seed=2, limit=400)
    assert result["canary"].state == CanaryState.ROLLED_BACK, result["canary"].reason
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.status == VersionStatus.ACTIVE and v2.status == VersionStatus.REJECTED
    # The candidate met fewer conversations than the policy's sample limit before it was stopped.
    assert 0 < result["exposed"] < canary.policy["max_samples"]
    end = Activation.objects.get(line=line, kind="canary_end")
    assert end.canary["state"] == "rolled_back" and end.canary["test"]["high"] < 0
    assert {_ask(client, agent, f"after-{i}")["X-Academy-Version"] for i in range(10)} == {"venom-coder:v1"}
    assert runtime.loaded_adapters(line.base_model) == {v1.adapter_name}  # the candidate was unloaded
    print(f"worse candidate rolled back after {result['conversations']} conversations, "
          f"{result['exposed']} of them answered by it")


def test_simulated_agents_with_equal_versions_end_with_no_difference(client, served, agent, alice, commits):
    line, v1, v2 = served
    canaries.set_line_policy(line, alice, {"share": 0.5, "max_samples": 40, **QUIET_GUARDS})
    canaries.start_canary(v2, alice)
    result = _simulate(client, agent, {"v1": 0.6, "v2": 0.6}, seed=3, limit=400)
    canary = result["canary"]
    assert canary.state == CanaryState.NO_DIFFERENCE, canary.reason
    assert canary.numbers["versions"]["candidate"]["outcomes"] == 40
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.status == VersionStatus.ACTIVE and v2.status == VersionStatus.CANDIDATE


def test_guards_roll_back_on_errors_or_slow_answers_before_the_outcomes_decide():
    policy = {"confidence": 0.95, "max_samples": 500, "min_effect": 0.0, "max_error_rate": 0.05,
              "max_p95_ratio": 2.0, "guard_min_requests": 20}
    canary = Canary(policy=policy)

    def numbers(errors=0, p95=100.0):
        version = {"completions": 40, "outcomes": 0, "successes": 0, "failures": 0, "success_rate": None,
                   "errors": errors, "timeouts": 0, "error_rate": errors / 40, "p95_ms": 100.0}
        return {"versions": {"candidate": {**version, "p95_ms": p95}, "active": {**version, "errors": 0,
                                                                                 "error_rate": 0.0}},
                "test": {"difference": None, "low": -1, "high": 1, "decision": ""}}

    assert canaries.decide(canary, numbers())[0] == CanaryState.RUNNING
    state, reason = canaries.decide(canary, numbers(errors=3))
    assert state == CanaryState.ROLLED_BACK and "failed or timed out" in reason
    state, reason = canaries.decide(canary, numbers(p95=250.0))
    assert state == CanaryState.ROLLED_BACK and "p95 latency" in reason


def test_start_is_refused_clearly(served, alice, bob):
    line, v1, v2 = served
    with pytest.raises(canaries.CanaryError, match="only a candidate"):
        canaries.start_canary(v1, alice)
    with pytest.raises(Exception, match="manage_models"):
        canaries.start_canary(v2, bob)
    canaries.start_canary(v2, alice)
    with pytest.raises(canaries.CanaryError, match="already runs a canary"):
        canaries.start_canary(v2, alice)
    with pytest.raises(canaries.CanaryError, match="share must be between"):
        canaries.start_canary(make_version(line), alice, share=1.5)


def test_commands_start_report_and_stop_a_canary(served, client, agent):
    line, v1, v2 = served
    out = StringIO()
    call_command("canary", "start", "venom-coder", "v2", "--share", "0.25", stdout=out)
    assert "v2 answers 25.0%" in out.getvalue()
    _ask(client, agent, "one")
    out = StringIO()
    call_command("canary", "status", "venom-coder", "--json", stdout=out)
    status = json.loads(out.getvalue().strip().splitlines()[-1])
    assert status["state"] == "running" and status["version"] == "v2" and status["share"] == 0.25
    assert set(status["versions"]) == {"candidate", "active"}
    call_command("canary", "stop", "venom-coder", "--reason", "enough", stdout=StringIO())
    out = StringIO()
    call_command("canary", "status", "venom-coder", "--json", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["state"] == "stopped"
    kinds = list(Activation.objects.filter(line=line).order_by("id").values_list("kind", flat=True))
    assert kinds == ["promote", "canary", "canary_end"]


def test_the_api_starts_shows_and_stops_a_canary_and_active_says_so(client, served, alice, agent):
    admin = bearer(make_token(alice, "Admin"))
    assert client.get("/api/v1/lines/venom-coder/active", **agent).json()["canary"] is None
    refused = client.post("/api/v1/lines/venom-coder/canary", {"version": "v2"}, content_type="application/json",
                          **agent)
    assert refused.status_code == 403
    started = client.post("/api/v1/lines/venom-coder/canary", {"version": "v2", "share": 0.2},
                          content_type="application/json", **admin)
    assert started.status_code == 201, started.content
    active = client.get("/api/v1/lines/venom-coder/active", **agent).json()
    assert active["version"] == "v1"
    assert active["canary"]["version"] == "v2" and active["canary"]["state"] == "running"
    assert active["canary"]["share"] == 0.2
    shown = client.get("/api/v1/lines/venom-coder/canary", **agent).json()["canary"]
    assert shown["state"] == "running" and shown["active"] == "v1"
    policy = client.post("/api/v1/lines/venom-coder/canary/policy", {"confidence": 0.99},
                         content_type="application/json", **admin)
    assert policy.json()["policy"]["confidence"] == 0.99
    bad = client.post("/api/v1/lines/venom-coder/canary/policy", {"confidence": 2},
                      content_type="application/json", **admin)
    assert bad.status_code == 400 and "confidence must be between" in bad.json()["error"]
    stopped = client.post("/api/v1/lines/venom-coder/canary/stop", {"reason": "done"},
                          content_type="application/json", **admin)
    assert stopped.json()["canary"]["state"] == "stopped"
    assert client.get("/api/v1/lines/venom-coder/active", **agent).json()["canary"] is None


def test_the_line_page_shows_the_panel_and_an_admin_stops_the_canary_in_one_click(client, served, alice, viewer):
    line, v1, v2 = served
    canaries.start_canary(v2, alice, share=0.3)
    client.force_login(viewer)
    page = client.get("/models/venom-coder/").content.decode()
    assert 'id="canary"' in page and "canary-data" in page and "Stop the canary" not in page
    assert client.post("/models/venom-coder/canary/stop/").status_code == 403
    client.force_login(alice)
    page = client.get("/models/venom-coder/").content.decode()
    assert "Stop the canary" in page
    response = client.post("/models/venom-coder/canary/stop/")
    assert response.status_code == 302
    assert Canary.objects.get().state == CanaryState.STOPPED
    assert "Start a canary" in client.get("/models/venom-coder/").content.decode()


def test_a_winning_canary_promotes_outside_its_own_transaction(served, alice, monkeypatch, commits):
    # With OLLAMA_HOST set a promotion uploads to Ollama before it locks the line: the canary's row
    # lock (SQLite's write lock) must not be held meanwhile.
    from django.db import connection

    line, v1, v2 = served
    canary = canaries.start_canary(v2, alice)
    depth_here = len(connection.atomic_blocks)
    seen, promote = [], services.promote_version

    def watched(*args, **kwargs):
        seen.append(len(connection.atomic_blocks))
        return promote(*args, **kwargs)

    monkeypatch.setattr(services, "promote_version", watched)
    ended = canaries._conclude(canary.pk, CanaryState.PROMOTED, "better with 95% confidence", None)

    assert seen == [depth_here]
    assert ended.state == CanaryState.PROMOTED
    v2.refresh_from_db()
    assert v2.status == VersionStatus.ACTIVE


def test_a_refused_canary_promotion_ends_the_canary_stopped_with_the_reason(served, alice, monkeypatch, commits):
    line, v1, v2 = served
    canary = canaries.start_canary(v2, alice)

    def refuse(*args, **kwargs):
        raise services.RegistryError("the adapter's files are missing on this host")

    monkeypatch.setattr(services, "promote_version", refuse)
    ended = canaries._conclude(canary.pk, CanaryState.PROMOTED, "better with 95% confidence", None)

    canary.refresh_from_db()
    assert canary.state == ended.state == CanaryState.STOPPED
    assert "promotion was refused" in canary.reason and "missing on this host" in canary.reason
    end = Activation.objects.filter(line=line, kind="canary_end").get()
    assert end.canary["state"] == CanaryState.STOPPED
    v1.refresh_from_db()
    assert v1.status == VersionStatus.ACTIVE
