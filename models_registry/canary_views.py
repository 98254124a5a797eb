"""The line page's canary actions (Admin): start a candidate on a share of the traffic, stop it."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from accounts.roles import MANAGE_MODELS
from models_registry import canary as canaries
from models_registry.models import ModelLine


def panel_context(line, versions, can_manage: bool) -> dict:
    """What the line page's canary panel needs."""
    latest = canaries.latest_canary(line)
    return {"canary": canaries.canary_dict(latest), "roles": ("candidate", "active"),
            "running": latest is not None and latest.is_running,
            "candidates": [v for v in versions if v.status == "candidate"] if can_manage else [],
            "default_share": canaries.line_policy(line)["share"] if can_manage else None}


@permission_required(MANAGE_MODELS, raise_exception=True)
@require_POST
def start(request, name):
    line = get_object_or_404(ModelLine, name=name)
    version = get_object_or_404(line.versions, label=request.POST.get("version", ""))
    try:
        share = float(request.POST["share"]) if request.POST.get("share") else None
        canary = canaries.start_canary(version, request.user, share=share)
    except ValueError:
        messages.error(request, "the share must be a number between 0 and 1")
    except (canaries.CanaryError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"canary started: {version.label} answers {canary.share:.1%} of the conversations")
    return redirect("line_detail", name=line.name)


@permission_required(MANAGE_MODELS, raise_exception=True)
@require_POST
def stop(request, name):
    line = get_object_or_404(ModelLine, name=name)
    try:
        canary = canaries.stop_canary(line, request.user, "stopped from the line page")
    except (canaries.CanaryError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"canary of {canary.candidate.label} stopped; {canary.baseline.label} answers all")
    return redirect("line_detail", name=line.name)
