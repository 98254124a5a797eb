"""Agent API: which version of a line is active (ETag / If-None-Match for cheap polling)."""

import hashlib
import json

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from accounts.api import api_view, json_error
from accounts.roles import VIEW_DASHBOARD
from models_registry.canary import canary_dict, running_canary
from models_registry.models import ModelLine


@api_view(VIEW_DASHBOARD)
def line_active(request, name):
    line = get_object_or_404(ModelLine, name=name)
    version = line.active_version()
    if version is None:
        return json_error(f"model line {name!r} has no active version", 404)
    running = canary_dict(running_canary(line))
    if running is not None:  # the split only: counts change with every outcome and would defeat the ETag
        running = {k: running[k] for k in ("id", "version", "active", "state", "share", "started_at")}
    body = json.dumps({**version.active_dict(), "canary": running}, sort_keys=True)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = JsonResponse(json.loads(body))
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response
