"""Canary and feedback JSON API.

    POST /api/v1/feedback                         an agent's outcome for a completion (Operator: ingest_experience)
    GET  /api/v1/lines/<line>/canary              the line's latest canary (any role), null if none ever ran
    POST /api/v1/lines/<line>/canary              start one: {"version": "v3", "share": 0.1} (Admin)
    POST /api/v1/lines/<line>/canary/stop         stop the running one: {"reason": "..."} (Admin)
    GET  /api/v1/lines/<line>/canary/policy       the line's effective canary settings (any role)
    POST /api/v1/lines/<line>/canary/policy       override some for this line, null clears one (Admin)
"""

from typing import Annotated, Literal

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from pydantic import Field

from accounts.api import api_view, json_error
from accounts.payloads import Payload, read_payload
from accounts.roles import INGEST_EXPERIENCE, MANAGE_MODELS, VIEW_DASHBOARD
from models_registry import canary as canaries
from models_registry.feedback import FeedbackError, record_outcome
from models_registry.models import ModelLine


class Feedback(Payload):
    completion_id: Annotated[str, Field(min_length=1, max_length=64)]
    outcome: Literal["success", "failure"]
    score: Annotated[float, Field(ge=0, le=1)] | None = None
    words: Annotated[str, Field(max_length=4000)] | None = None


class StartCanary(Payload):
    version: Annotated[str, Field(min_length=1, max_length=20)]
    share: Annotated[float, Field(gt=0, lt=1)] | None = None
    reason: str = ""


class StopCanary(Payload):
    reason: str = ""


class CanaryPolicy(Payload):
    share: float | None = None
    confidence: float | None = None
    min_effect: float | None = None
    max_samples: int | None = None
    max_error_rate: float | None = None
    max_p95_ratio: float | None = None
    guard_min_requests: int | None = None


def _refused(exc: Exception, status: int = 409):
    if isinstance(exc, PermissionDenied):
        return json_error(str(exc) or "permission denied", 403)
    return json_error(str(exc), status)


@api_view(INGEST_EXPERIENCE, methods=("POST",))
def feedback(request):
    data, error = read_payload(request, Feedback, what="feedback")
    if error:
        return error
    try:
        completion = record_outcome(request.user, data.completion_id, data.outcome, data.score, data.words)
    except FeedbackError as exc:
        return json_error(f"invalid feedback: {exc.message}", exc.status,
                          [{"field": exc.field, "message": exc.message}])
    return JsonResponse({"completion_id": completion.completion_id, "outcome": completion.outcome,
                         "score": completion.score, "version": completion.version.label,
                         "line": completion.line.name, "canary": completion.canary_id}, status=201)


def _by_method(get_view, post_view):
    @login_not_required
    @csrf_exempt
    def view(request, *args, **kwargs):
        return (post_view if request.method == "POST" else get_view)(request, *args, **kwargs)

    return view


@api_view(VIEW_DASHBOARD)
def _canary_status(request, name):
    line = get_object_or_404(ModelLine, name=name)
    return JsonResponse({"line": line.name, "canary": canaries.canary_dict(canaries.latest_canary(line))})


@api_view(MANAGE_MODELS, methods=("POST",))
def _canary_start(request, name):
    line = get_object_or_404(ModelLine, name=name)
    data, error = read_payload(request, StartCanary, what="canary")
    if error:
        return error
    version = line.versions.filter(label=data.version).first()
    if version is None:
        return json_error(f"line {name} has no version {data.version!r}", 404,
                          [{"field": "version", "message": f"version: no {data.version!r} in line {name}"}])
    try:
        canary = canaries.start_canary(version, request.user, share=data.share, reason=data.reason)
    except (canaries.CanaryError, PermissionDenied) as exc:
        return _refused(exc)
    return JsonResponse({"canary": canaries.canary_dict(canary)}, status=201)


@api_view(MANAGE_MODELS, methods=("POST",))
def canary_stop(request, name):
    line = get_object_or_404(ModelLine, name=name)
    data, error = read_payload(request, StopCanary, what="canary stop")
    if error:
        return error
    try:
        canary = canaries.stop_canary(line, request.user, data.reason)
    except (canaries.CanaryError, PermissionDenied) as exc:
        return _refused(exc)
    return JsonResponse({"canary": canaries.canary_dict(canary)})


@api_view(VIEW_DASHBOARD)
def _policy_show(request, name):
    line = get_object_or_404(ModelLine, name=name)
    return JsonResponse({"line": line.name, "policy": canaries.line_policy(line)})


@api_view(MANAGE_MODELS, methods=("POST",))
def _policy_set(request, name):
    line = get_object_or_404(ModelLine, name=name)
    data, error = read_payload(request, CanaryPolicy, what="canary policy")
    if error:
        return error
    try:
        policy = canaries.set_line_policy(line, request.user, data.model_dump(exclude_unset=True))
    except canaries.CanaryError as exc:
        return json_error(f"invalid canary policy: {exc}", 400, [{"field": None, "message": str(exc)}])
    except PermissionDenied as exc:
        return _refused(exc)
    return JsonResponse({"line": line.name, "policy": policy})


canary = _by_method(_canary_status, _canary_start)
canary_policy = _by_method(_policy_show, _policy_set)
