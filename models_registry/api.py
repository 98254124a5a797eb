"""Agent API: which version of a line is active (ETag / If-None-Match for cheap polling)."""

import hashlib
import json

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from accounts.api import api_view, json_error
from accounts.roles import VIEW_DASHBOARD
from models_registry.adapters import data_path
from models_registry.models import ModelLine


def active_payload(line: ModelLine, version) -> dict:
    activation = line.activations.filter(to_version=version).order_by("-created_at", "-id").first()
    return {
        "line": line.name,
        "version": version.label,
        "version_id": version.pk,
        "base_model": version.base_model,
        "adapter": {"dir": version.adapter_dir, "path": str(data_path(version.adapter_dir)),
                    "files": version.adapter_files,
                    "sha256": version.adapter_files.get("adapter_model.safetensors", "")},
        "prompt": version.prompt,
        "activated_at": activation.created_at.isoformat() if activation else None,
    }


@api_view(VIEW_DASHBOARD)
def line_active(request, name):
    line = get_object_or_404(ModelLine, name=name)
    version = line.active_version()
    if version is None:
        return json_error(f"model line {name!r} has no active version", 404)
    body = json.dumps(active_payload(line, version), sort_keys=True)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = JsonResponse(json.loads(body))
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response
