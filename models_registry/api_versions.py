"""Registry JSON API for scripts and agents: promote, roll back, genealogy, register an outside adapter."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from accounts.api import api_view, json_error, read_json
from accounts.roles import MANAGE_MODELS, VIEW_DASHBOARD
from models_registry import adapters, services
from models_registry.models import ModelLine, ModelVersion
from models_registry.promotion_checks import promotion_warning


def _body(request):
    if not request.body:
        return {}, None
    data, error = read_json(request, settings.API_MAX_BODY_BYTES)
    if error is None and not isinstance(data, dict):
        return None, json_error("the body must be a JSON object", 400)
    return data, error


def _act(action):
    try:
        return action()
    except PermissionDenied as exc:
        return json_error(str(exc) or "permission denied", 403)
    except (services.RegistryError, adapters.AdapterError) as exc:
        return json_error(str(exc), 409)


@api_view(MANAGE_MODELS, methods=("POST",))
def promote(request, name, label):
    version = get_object_or_404(ModelVersion.objects.select_related("line"), line__name=name, label=label)
    data, error = _body(request)
    if error:
        return error

    warning = promotion_warning(version)  # read before the promotion changes the active version

    def action():
        activation = services.promote_version(version, request.user, str(data.get("reason") or ""))
        answer = {"activation": activation.to_dict(), "version": version.to_dict()}
        return JsonResponse({**answer, "warning": warning} if warning else answer)

    return _act(action)


@api_view(MANAGE_MODELS, methods=("POST",))
def rollback(request, name):
    line = get_object_or_404(ModelLine, name=name)
    data, error = _body(request)
    if error:
        return error
    to = None
    if data.get("to"):
        to = line.versions.filter(label=str(data["to"])).first()
        if to is None:
            return json_error(f"line {name} has no version {data['to']!r}", 404)
    return _act(lambda: JsonResponse({"activation": services.rollback_line(
        line, request.user, str(data.get("reason") or ""), to_version=to).to_dict()}))


@api_view(VIEW_DASHBOARD)
def genealogy(request, name):
    line = get_object_or_404(ModelLine, name=name)
    versions = line.versions.select_related("line", "parent", "dataset").order_by("number")
    activations = line.activations.select_related("line", "from_version", "to_version", "created_by")[:200]
    return JsonResponse({**line.to_dict(), "versions": [v.to_dict() for v in versions],
                         "activations": [a.to_dict() for a in activations]})


@api_view(MANAGE_MODELS, methods=("POST",))
def register(request, name):
    line = get_object_or_404(ModelLine, name=name)
    data, error = _body(request)
    if error:
        return error
    if not isinstance(data.get("adapter_dir"), str) or not data["adapter_dir"].strip():
        return json_error("invalid body", 400, ["'adapter_dir': a folder relative to the data root is required"])
    return _act(lambda: JsonResponse({"version": services.register_adapter_version(
        line, data["adapter_dir"].strip(), request.user, notes=str(data.get("notes") or "")).to_dict()}, status=201))
