"""What the Professor adds to the apps below it, through the hook lists they offer."""

from __future__ import annotations

import logging

from django.db import transaction
from django.template.loader import render_to_string

from accounts.roles import OPERATE_TRAINING, VIEW_DASHBOARD

logger = logging.getLogger(__name__)


def register() -> None:
    """Append our callables to training's and the registry's hook lists (once)."""
    from training.services import hooks

    for hook_list, function in ((hooks.parameter_advisors, advise), (hooks.on_run_created, record_parameter_choice),
                                (hooks.training_page_panels, training_panel), (hooks.run_page_panels, run_panel)):
        if function not in hook_list:
            hook_list.append(function)
    from models_registry import canary
    from professor.release import canary_ended

    if canary_ended not in canary.on_end:
        canary.on_end.append(canary_ended)
    # The cycle advances when its jobs end. Our on_run_succeeded hook comes after the registry's (its app is
    # ready first), so the run's version is registered when the cycle goes on.
    from arena import hooks as arena_hooks
    from jobs import lifecycle

    for hook_list, function in ((hooks.on_run_succeeded, run_succeeded), (arena_hooks.on_evaluation_finished,
                                                                          evaluation_finished),
                                (lifecycle.on_ended, job_ended)):
        if function not in hook_list:
            hook_list.append(function)
    # A cycle whose job's end never reached it (that process died before its hooks ran) is taken up by the reaper.
    from jobs import reaper
    from professor.models import Cycle

    if (Cycle, advance_stranded) not in reaper.resumers:
        reaper.resumers.append((Cycle, advance_stranded))


def run_succeeded(run) -> None:
    from professor.cycle import job_ended as advance

    advance(run.group_prefix, run.pk)


def evaluation_finished(evaluation) -> None:
    from professor.cycle import job_ended as advance

    advance(evaluation.group_prefix, evaluation.pk)


def advance_stranded(now) -> list[int]:
    from professor.cycle import advance_stranded as take_up

    return take_up(now)


def job_ended(model, pk: int, status: str) -> None:
    """Any job ended: a build advances its cycle, and so does a run that did not succeed (a succeeded run
    waits for run_succeeded, after its version is registered; evaluations come through the Arena's hook).
    A cycle the reaper ended says so in its journal (here, not in Cycle.after_lost: the models module imports
    nothing of the cycle's)."""
    from jobs.models import JobStatus
    from professor.cycle import job_ended as advance
    from professor.journal import record_lost
    from professor.models import Cycle

    if model is Cycle:
        if status == JobStatus.LOST:
            record_lost(pk)
        return
    if model.group_prefix == "build" or (model.group_prefix == "run" and status != JobStatus.SUCCEEDED):
        advance(model.group_prefix, pk)


def advise(snapshot, worker=None) -> dict:
    from professor.parameters import suggest_parameters

    return suggest_parameters(snapshot, worker)


def record_parameter_choice(run) -> None:
    """Store where each of a new run's settings came from (professor.parameters.explain)."""
    from professor.models import ParameterChoice
    from professor.parameters import describe_worker, explain, fit, values
    from training.services import dataset_warnings

    memory = describe_worker()
    suggestion = fit(run.dataset, memory, base_model=run.base_model)
    # A savepoint: a failure here must not break start_run's transaction.
    with transaction.atomic():
        ParameterChoice.objects.update_or_create(run=run, defaults={
            "reasons": explain(run.hyperparameters or {}, suggestion, getattr(run, "setting_reasons", None)),
            "suggested": values(suggestion),
            "warnings": dataset_warnings(run.dataset), "worker": memory["name"]})


def training_panel(request) -> str | None:
    from professor.readiness import readiness

    if not request.user.has_perm(VIEW_DASHBOARD):
        return None
    return render_to_string("professor/_training_panel.html", {
        "readiness": readiness(), "can_operate": request.user.has_perm(OPERATE_TRAINING)}, request=request)


def run_panel(request, run) -> str | None:
    from professor.models import ParameterChoice

    choice = ParameterChoice.objects.filter(run=run).first()
    if choice is None:
        return None
    from training.presets import grouped_reasons

    groups = grouped_reasons(run.hyperparameters or {}, choice.reasons)
    return render_to_string("professor/_run_panel.html", {"choice": choice, "groups": groups}, request=request)
