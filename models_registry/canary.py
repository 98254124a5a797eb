"""Canary releases: a candidate answers a share of its line's /v1 conversations until a sequential test decides.

start_canary -> (serving routes each conversation by a hash of its session or token:
serving.runtime.in_canary) ->
the agent's outcomes arrive through record_outcome -> evaluate() after each one ->
promoted (through the registry's promotion), rolled back (the candidate is rejected),
no difference (at the policy's maximum sample size) or stopped by an Admin. Every start
and end is an Activation in the line's history carrying the canary's numbers.

The statistics live in canary_stats (no Django); this module counts and decides.
"""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.roles import MANAGE_MODELS, require_unless_system
from curation.secrets import scrub_text
from jobs import broadcast
from models_registry import adapters, canary_stats, services
from models_registry.models import (
    Activation,
    ActivationKind,
    Canary,
    CanaryPolicy,
    CanaryState,
    ModelLine,
    ModelVersion,
    ServedCompletion,
    VersionStatus,
)
from models_registry.serving import runtime

logger = logging.getLogger(__name__)

POLICY_FIELDS = ("share", "confidence", "min_effect", "max_samples", "max_error_rate", "max_p95_ratio",
                 "guard_min_requests")
TRACE_POINTS = 400  # readings kept for the chart (older ones thinned out)


# Called with the Canary after a canary ended (committed): apps above the registry append here.
on_end: list = []


class CanaryError(Exception):
    """A canary action was refused; str() says why in plain words."""


def default_policy() -> dict:
    return {"share": settings.CANARY_SHARE, "confidence": settings.CANARY_CONFIDENCE,
            "min_effect": settings.CANARY_MIN_EFFECT, "max_samples": settings.CANARY_MAX_SAMPLES,
            "max_error_rate": settings.CANARY_MAX_ERROR_RATE, "max_p95_ratio": settings.CANARY_MAX_P95_RATIO,
            "guard_min_requests": settings.CANARY_GUARD_MIN_REQUESTS}


def line_policy(line: ModelLine) -> dict:
    """The settings with this line's Admin overrides applied."""
    policy = default_policy()
    override = CanaryPolicy.objects.filter(line=line).first()
    if override is not None:
        policy |= {f: getattr(override, f) for f in POLICY_FIELDS if getattr(override, f) is not None}
    return policy


_LIMITS = {"share": (0.001, 0.999), "confidence": (0.5, 0.9999), "min_effect": (0.0, 1.0),
           "max_samples": (2, 10_000_000), "max_error_rate": (0.0, 1.0), "max_p95_ratio": (1.0, 1000.0),
           "guard_min_requests": (1, 10_000_000)}


def check_policy_value(name: str, value) -> str:
    """'' when `value` is allowed for policy field `name`, else why not."""
    low, high = _LIMITS[name]
    integer = name in ("max_samples", "guard_min_requests")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        return f"must be {'a whole number' if integer else 'a number'}"
    if not low <= value <= high:
        return f"must be between {low} and {high}"
    return ""


def set_line_policy(line: ModelLine, user, values: dict) -> dict:
    """Store an Admin's overrides for `line` (None clears one); returns the effective policy."""
    require_unless_system(user, MANAGE_MODELS)
    problems = {name: check_policy_value(name, value) for name, value in values.items() if name in _LIMITS}
    unknown = [name for name in values if name not in _LIMITS]
    if unknown:
        raise CanaryError(f"unknown canary setting(s): {', '.join(sorted(unknown))}")
    bad = {k: v for k, v in problems.items() if v}
    if bad:
        raise CanaryError("; ".join(f"{k} {v}" for k, v in bad.items()))
    override, _ = CanaryPolicy.objects.get_or_create(line=line)
    for name, value in values.items():
        setattr(override, name, value)
    override.save()
    return line_policy(line)


# -- start and stop

def running_canary(line: ModelLine) -> Canary | None:
    return Canary.objects.select_related("line", "candidate", "baseline").filter(
        line=line, state=CanaryState.RUNNING).first()


def start_canary(candidate: ModelVersion, user, *, share: float | None = None, reason: str = "") -> Canary:
    """Let `candidate` answer `share` of its line's conversations beside the active version."""
    require_unless_system(user, MANAGE_MODELS)
    line = candidate.line
    policy = line_policy(line)
    if share is not None:
        problem = check_policy_value("share", share)
        if problem:
            raise CanaryError(f"share {problem}")
        policy["share"] = share
    try:
        with transaction.atomic():
            line = ModelLine.objects.select_for_update().get(pk=line.pk)
            candidate = ModelVersion.objects.select_related("line").get(pk=candidate.pk)
            active = line.active_version()
            _check_startable(line, candidate, active)
            canary = Canary.objects.create(line=line, candidate=candidate, baseline=active, share=policy["share"],
                                           policy=policy, started_by=user)
            canary.numbers = tally(canary)
            Canary.objects.filter(pk=canary.pk).update(numbers=canary.numbers)
            _record(canary, ActivationKind.CANARY, user,
                    reason or f"canary: {candidate.label} answers {policy['share']:.0%} of conversations",
                    {"state": CanaryState.RUNNING, "share": policy["share"], "policy": policy})
            transaction.on_commit(lambda: _after_change(canary))
    except IntegrityError:
        raise CanaryError(f"line {line.name} already runs a canary: stop it first") from None
    except adapters.AdapterError as exc:
        raise CanaryError(f"cannot start the canary: {exc}") from exc
    return canary


def _check_startable(line: ModelLine, candidate: ModelVersion, active: ModelVersion | None) -> None:
    if active is None:
        raise CanaryError(f"line {line.name} has no active version to compare with: promote one first")
    if candidate.status != VersionStatus.CANDIDATE:
        raise CanaryError(f"{candidate} is {candidate.status}; only a candidate can run as a canary")
    if candidate.base_model != line.base_model:
        raise CanaryError(f"{candidate} was trained on base model {candidate.base_model!r}, "
                          f"but line {line.name} serves {line.base_model!r}")
    if Canary.objects.filter(line=line, state=CanaryState.RUNNING).exists():
        raise CanaryError(f"line {line.name} already runs a canary: stop it first")
    adapters.verify(candidate.adapter_dir, candidate.adapter_files)


def stop_canary(line: ModelLine, user, reason: str = "") -> Canary:
    """End the line's running canary by hand: every conversation goes back to the active version."""
    require_unless_system(user, MANAGE_MODELS)
    canary = running_canary(line)
    if canary is None:
        raise CanaryError(f"line {line.name} runs no canary")
    ended = _conclude(canary.pk, CanaryState.STOPPED, f"stopped: {reason}" if reason else "stopped by hand", user)
    if ended is None:
        raise CanaryError(f"the canary of {line.name} ended meanwhile")
    return ended


def _record(canary: Canary, kind: str, user, reason: str, numbers: dict) -> Activation:
    return Activation.objects.create(line=canary.line, from_version=canary.baseline, to_version=canary.candidate,
                                     kind=kind, reason=scrub_text(reason)[0], created_by=user,
                                     canary={"canary": canary.pk, **numbers})


# -- counting

def tally(canary: Canary) -> dict:
    """Completions, outcomes, errors and p95 latency per version, and the test's reading."""
    rows = ServedCompletion.objects.filter(canary=canary).values("version_id").annotate(
        completions=Count("id"), errors=Count("id", filter=Q(error=True)),
        timeouts=Count("id", filter=Q(timed_out=True)),
        successes=Count("id", filter=Q(outcome="success")), failures=Count("id", filter=Q(outcome="failure")))
    by_id = {row["version_id"]: row for row in rows}
    versions = {}
    for role, version in (("candidate", canary.candidate), ("active", canary.baseline)):
        row = by_id.get(version.pk) or {"completions": 0, "errors": 0, "timeouts": 0, "successes": 0, "failures": 0}
        latencies = list(ServedCompletion.objects.filter(canary=canary, version=version, error=False)
                         .order_by("-id").values_list("latency_ms", flat=True)[:5000])
        outcomes = row["successes"] + row["failures"]
        versions[role] = {
            "version": version.label, "completions": row["completions"], "outcomes": outcomes,
            "successes": row["successes"], "failures": row["failures"],
            "success_rate": row["successes"] / outcomes if outcomes else None,
            "errors": row["errors"], "timeouts": row["timeouts"],
            "error_rate": (row["errors"] + row["timeouts"]) / row["completions"] if row["completions"] else None,
            "p95_ms": canary_stats.p95(latencies)}
    policy = canary.policy
    reading = canary_stats.read(
        canary_stats.Arm(versions["candidate"]["successes"], versions["candidate"]["outcomes"]),
        canary_stats.Arm(versions["active"]["successes"], versions["active"]["outcomes"]),
        confidence=policy["confidence"], tuned_for=policy["max_samples"], min_effect=policy["min_effect"])
    return {"versions": versions, "test": reading.to_dict(), "trace": (canary.numbers or {}).get("trace", [])}


def _with_point(numbers: dict) -> dict:
    test, versions = numbers["test"], numbers["versions"]
    n = versions["candidate"]["outcomes"] + versions["active"]["outcomes"]
    trace = list(numbers.get("trace") or [])
    if test["difference"] is not None and (not trace or trace[-1][0] != n):
        trace.append([n, round(test["difference"], 5), round(max(test["low"], -1.0), 5),
                      round(min(test["high"], 1.0), 5)])
    if len(trace) > TRACE_POINTS:
        trace = trace[:1] + trace[1:-1:2] + trace[-1:]  # thin the older points, keep the first and last
    return {**numbers, "trace": trace}


# -- the decision

def decide(canary: Canary, numbers: dict) -> tuple[str, str]:
    """(state, reason) the numbers call for; state RUNNING while undecided."""
    policy, candidate, active = canary.policy, numbers["versions"]["candidate"], numbers["versions"]["active"]
    if candidate["completions"] >= policy["guard_min_requests"]:
        if candidate["error_rate"] is not None and candidate["error_rate"] > policy["max_error_rate"]:
            return CanaryState.ROLLED_BACK, (f"guard: {candidate['error_rate']:.1%} of the candidate's completions "
                                             f"failed or timed out (limit {policy['max_error_rate']:.1%})")
        limit = policy["max_p95_ratio"] * (active["p95_ms"] or 0)
        if candidate["p95_ms"] and active["p95_ms"] and candidate["p95_ms"] > limit:
            return CanaryState.ROLLED_BACK, (f"guard: p95 latency {candidate['p95_ms']:.0f} ms against "
                                             f"{active['p95_ms']:.0f} ms (limit x{policy['max_p95_ratio']})")
    test = numbers["test"]
    interval = f"difference {test['difference']:+.3f}, {policy['confidence']:.0%} interval " \
               f"[{test['low']:+.3f}, {test['high']:+.3f}]" if test["difference"] is not None else ""
    rates = (f"{candidate['successes']}/{candidate['outcomes']} against "
             f"{active['successes']}/{active['outcomes']} successes")
    if test["decision"] == "better":
        return CanaryState.PROMOTED, f"the candidate is better: {rates}, {interval}"
    if test["decision"] == "worse":
        return CanaryState.ROLLED_BACK, f"the candidate is worse: {rates}, {interval}"
    if candidate["outcomes"] >= policy["max_samples"]:
        return CanaryState.NO_DIFFERENCE, f"no difference after {candidate['outcomes']} outcomes: {rates}, {interval}"
    return CanaryState.RUNNING, ""


def evaluate(canary_id: int) -> Canary | None:
    """Count, store the reading, and carry out the decision it calls for. None if the canary is not running."""
    canary = Canary.objects.select_related("line", "candidate", "baseline").filter(
        pk=canary_id, state=CanaryState.RUNNING).first()
    if canary is None:
        return None
    if canary.line.active_version() != canary.baseline:
        return _conclude(canary.pk, CanaryState.STOPPED, "stopped: the line's active version changed meanwhile", None)
    numbers = _with_point(tally(canary))
    state, reason = decide(canary, numbers)
    if state == CanaryState.RUNNING:
        if Canary.objects.filter(pk=canary.pk, state=CanaryState.RUNNING).update(numbers=numbers) == 1:
            canary.numbers = numbers
            transaction.on_commit(lambda: publish(canary))
        return canary
    return _conclude(canary.pk, state, reason, None, numbers=numbers)


def _conclude(canary_id: int, state: str, reason: str, user, *, numbers: dict | None = None) -> Canary | None:
    """Move a running canary to `state` (exactly once), record it in the history, and act on it.

    A promotion runs after the canary's own transaction has committed: with OLLAMA_HOST set it sends
    the adapter to Ollama before it locks the line (services._activate), which must not happen while
    this canary's row, or SQLite's write lock, is held. Should the promotion be refused, the canary
    ends "stopped" with the refusal as its reason.
    """
    with transaction.atomic():
        canary = Canary.objects.select_for_update().select_related("line", "candidate", "baseline").filter(
            pk=canary_id, state=CanaryState.RUNNING).first()
        if canary is None:
            return None
        numbers = numbers or _with_point(tally(canary))
        summary = {"state": state, "share": canary.share, "versions": numbers["versions"], "test": numbers["test"]}
        if state != CanaryState.PROMOTED:
            _record(canary, ActivationKind.CANARY_END, user, f"canary {state.replace('_', ' ')}: {reason}", summary)
        if state == CanaryState.ROLLED_BACK:
            services.reject_version(canary.candidate, None, f"canary rolled back: {reason}")
        Canary.objects.filter(pk=canary.pk).update(state=state, reason=reason, numbers=numbers,
                                                   ended_at=timezone.now())
        canary.state, canary.reason, canary.numbers, canary.ended_at = state, reason, numbers, timezone.now()
    if state == CanaryState.PROMOTED:
        try:
            activation = services.promote_version(canary.candidate, None, f"canary: {reason}", arena={})
        except services.RegistryError as exc:
            state, reason = CanaryState.STOPPED, f"stopped: the promotion was refused: {exc}"
            summary["state"] = state
            with transaction.atomic():
                Canary.objects.filter(pk=canary.pk).update(state=state, reason=reason)
                _record(canary, ActivationKind.CANARY_END, user, f"canary stopped: {reason}", summary)
            canary.state, canary.reason = state, reason
        else:
            Activation.objects.filter(pk=activation.pk).update(canary={"canary": canary.pk, **summary})
    transaction.on_commit(lambda: _after_change(canary))
    logger.info("canary %s of %s: %s (%s)", canary.candidate, canary.line.name, state, reason)
    return canary


def _after_change(canary: Canary) -> None:
    runtime.notify_canary(canary.line.name)
    publish(canary)
    if not canary.is_running:
        for hook in on_end:
            try:
                hook(canary)
            except Exception:  # a hook must not undo a decision already committed
                logger.exception("canary end hook %s failed", hook)


# -- what pages, the API and the command show

def canary_dict(canary: Canary | None) -> dict | None:
    if canary is None:
        return None
    numbers = canary.numbers or {}
    return {"id": canary.pk, "line": canary.line.name, "version": canary.candidate.label,
            "active": canary.baseline.label, "state": canary.state, "share": canary.share, "policy": canary.policy,
            "versions": numbers.get("versions") or {}, "test": numbers.get("test") or {},
            "trace": numbers.get("trace") or [], "reason": canary.reason,
            "started_at": canary.created_at.isoformat(),
            "ended_at": canary.ended_at.isoformat() if canary.ended_at else None}


def latest_canary(line: ModelLine) -> Canary | None:
    return Canary.objects.select_related("line", "candidate", "baseline").filter(line=line).first()


def publish(canary: Canary) -> None:
    """Send the canary's state to the line's page and agents (call after commit)."""
    broadcast.publish_group_message(canary.line.group_name, {"type": "canary.update",
                                                             "canary": canary_dict(canary)})
