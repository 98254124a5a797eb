"""Professor pages: readiness, the command box, the cycle timeline; thin views over the services."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.roles import OPERATE_TRAINING, VIEW_DASHBOARD
from professor import services
from professor.commands import refusal_in_words
from professor.models import Cycle, JournalEntry, Trigger, attach_job_states

RECENT_CYCLES = 20
RECENT_ASKS = 20


def _back(request, fallback: str = "professor"):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def professor(request):
    cycles = list(Cycle.objects.prefetch_related("journal").order_by("-created_at", "-id")[:RECENT_CYCLES])
    asks = list(JournalEntry.objects.asks()[:RECENT_ASKS])
    attach_job_states([entry for cycle in cycles for entry in cycle.journal.all()] + asks)
    for cycle in cycles:
        cycle.step_now = cycle.step_job() if cycle.is_active else None
    return render(request, "professor/professor.html", {
        "readiness": services.readiness(), "cycles": cycles, "asks": asks,
        "can_operate": request.user.has_perm(OPERATE_TRAINING)})


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def cycle_detail(request, cycle_id: int):
    cycle = get_object_or_404(Cycle.objects.prefetch_related("journal"), pk=cycle_id)
    attach_job_states(cycle.journal.all())
    cycle.step_now = cycle.step_job()
    return render(request, "professor/cycle_detail.html", {"cycle": cycle})


@require_POST
@permission_required(VIEW_DASHBOARD, raise_exception=True)
def ask(request):
    words = request.POST.get("words", "")[:500]
    try:
        answer = services.ask(request.user, words)
    except PermissionDenied as exc:
        messages.error(request, f"Not allowed: {refusal_in_words(exc)}")
    else:
        (messages.success if answer.ok else messages.warning)(request, answer.text)
    return _back(request)


@require_POST
@permission_required(OPERATE_TRAINING, raise_exception=True)
def cycle_start(request):
    try:
        cycle = services.start_cycle(request.user, trigger=Trigger.WEB)
    except services.CycleBusy as exc:
        messages.warning(request, f"Not started: {exc}.")
        return _back(request)
    messages.success(request, f"Cycle {cycle.pk} queued.")
    return redirect("professor_cycle", cycle.pk)
