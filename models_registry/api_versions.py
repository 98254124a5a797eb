"""Registry JSON API for scripts and agents: promote, roll back, genealogy, register an outside adapter."""

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from accounts.api import api_view, json_error
from accounts.payloads import read_payload
from accounts.roles import MANAGE_MODELS, VIEW_DASHBOARD
from models_registry import adapters, services
from models_registry.models import ModelLine, ModelVersion
from models_registry.payloads import Promote, RegisterAdapter, Rollback
from models_registry.promotion_checks import promotion_warning


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
    body, error = read_payload(request, Promote, what="promotion", optional=True)
    if error:
        return error

    warning = promotion_warning(version)  # read before the promotion changes the active version

    def action():
        activation = services.promote_version(version, request.user, body.reason)
        answer = {"activation": activation.to_dict(), "version": version.to_dict()}
        return JsonResponse({**answer, "warning": warning} if warning else answer)

    return _act(action)


@api_view(MANAGE_MODELS, methods=("POST",))
def rollback(request, name):
    line = get_object_or_404(ModelLine, name=name)
    body, error = read_payload(request, Rollback, what="rollback", optional=True)
    if error:
        return error
    to = None
    if body.to:
        to = line.versions.filter(label=body.to).first()
        if to is None:
            return json_error(f"line {name} has no version {body.to!r}", 404)
    return _act(lambda: JsonResponse({"activation": services.rollback_line(
        line, request.user, body.reason, to_version=to).to_dict()}))


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
    body, error = read_payload(request, RegisterAdapter, what="adapter registration")
    if error:
        return error
    return _act(lambda: JsonResponse({"version": services.register_adapter_version(
        line, body.adapter_dir, request.user, notes=body.notes).to_dict()}, status=201))
