"""JSON API: readiness, commands, cycles, parameter suggestions."""

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse

from accounts.api import api_view, json_error
from accounts.payloads import read_payload
from accounts.roles import VIEW_DASHBOARD
from curation.models import DatasetSnapshot
from professor import services
from professor.models import Cycle, Trigger, with_job_states
from professor.parameters import suggestion_dict
from professor.payloads import Ask


@api_view(VIEW_DASHBOARD)
def readiness(request):
    return JsonResponse(services.readiness().as_dict())


@api_view(VIEW_DASHBOARD, methods=("POST",))
def ask(request):
    body, error = read_payload(request, Ask, what="command")
    if error:
        return error
    try:
        answer = services.ask(request.user, body.words, principal=request.principal)
    except PermissionDenied as exc:
        return json_error(f"permission denied: {exc}", 403)
    return JsonResponse(answer.as_dict())


@api_view(VIEW_DASHBOARD, methods=("GET", "POST"))
def cycles(request):
    if request.method == "POST":
        try:
            cycle = services.start_cycle(request.user, trigger=Trigger.API, principal=request.principal)
        except PermissionDenied as exc:
            return json_error(f"permission denied: {exc}", 403)
        except services.CycleBusy as exc:
            return json_error(str(exc), 409, [{"field": None, "message": str(exc), "cycle": exc.cycle_id}])
        return JsonResponse(cycle.to_dict(), status=202)
    recent = Cycle.objects.prefetch_related("journal").select_related("dataset", "version")[:50]
    cycles = [cycle.to_dict(job_states=False) for cycle in recent]
    with_job_states([entry for cycle in cycles for entry in cycle["journal"]])
    return JsonResponse({"cycles": cycles})


@api_view(VIEW_DASHBOARD)
def cycle_detail(request, cycle_id: int):
    cycle = Cycle.objects.prefetch_related("journal").select_related("dataset", "version").filter(pk=cycle_id).first()
    if cycle is None:
        return json_error(f"cycle {cycle_id} not found", 404)
    return JsonResponse(cycle.to_dict())


@api_view(VIEW_DASHBOARD)
def suggest(request):
    """GET ?dataset=<sha256 or a unique prefix of 6+>: the suggested settings with their reasons."""
    prefix = (request.GET.get("dataset") or "").lower()
    matches = list(DatasetSnapshot.objects.filter(sha256__startswith=prefix)[:2]) if len(prefix) >= 6 else []
    if len(matches) != 1:
        return json_error("no unique dataset snapshot with that sha256 (give at least 6 characters)", 404)
    return JsonResponse(suggestion_dict(matches[0], services.suggest_parameters(matches[0])))
