"""Arena JSON API: start an evaluation, read it, carry its verdict out, compare two versions."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from accounts.api import api_view, json_error, read_json
from accounts.roles import MANAGE_MODELS, OPERATE_TRAINING, VIEW_DASHBOARD
from arena import results, services
from arena.models import Evaluation
from models_registry.compare import compare_versions
from models_registry.models import ModelLine, ModelVersion


def _evaluation_dict(evaluation: Evaluation) -> dict:
    return {**evaluation.to_dict(), "url": f"/arena/evaluations/{evaluation.pk}/",
            "websocket": f"/ws/evaluations/{evaluation.pk}/"}


@api_view(OPERATE_TRAINING, methods=("POST",))
def evaluate(request, name, label):
    line = get_object_or_404(ModelLine, name=name)
    version = get_object_or_404(ModelVersion, line=line, label=label)
    data, error = read_json(request, settings.API_MAX_BODY_BYTES) if request.body else ({}, None)
    if error:
        return error
    if not isinstance(data, dict) or not (data.get("against") is None or isinstance(data["against"], str)):
        return json_error("invalid body", 400, ["'against' must be a version label, 'base' or null"])
    try:
        evaluation = services.start_evaluation(line, version, data.get("against"), requested_by=request.user)
    except services.ArenaError as exc:
        return json_error(str(exc), 400)
    return JsonResponse(_evaluation_dict(evaluation), status=202)


@api_view(VIEW_DASHBOARD)
def evaluation_detail(request, pk):
    return JsonResponse(_evaluation_dict(get_object_or_404(Evaluation, pk=pk)))


@api_view(MANAGE_MODELS, methods=("POST",))
def evaluation_apply(request, pk):
    evaluation = get_object_or_404(Evaluation, pk=pk)
    try:
        done = services.apply_verdict(evaluation, request.user)
    except PermissionDenied as exc:
        return json_error(str(exc), 403)
    except services.ArenaError as exc:
        return json_error(str(exc), 409)
    evaluation.refresh_from_db()
    return JsonResponse({"applied": done, "evaluation": _evaluation_dict(evaluation)})


@api_view(VIEW_DASHBOARD)
def compare(request, name):
    line = get_object_or_404(ModelLine, name=name)
    labels = [request.GET.get("a", ""), request.GET.get("b", "")]
    if not all(labels):
        return json_error("give two versions: ?a=<label>&b=<label>", 400)
    a, b = (get_object_or_404(ModelVersion, line=line, label=label) for label in labels)
    result = compare_versions(a, b)
    return JsonResponse({"line": line.name, "a": a.label, "b": b.label, "metrics": result["metrics"],
                         "dataset": result["dataset"], "arena": results.compare_payload(a, b)})
