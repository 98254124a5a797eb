"""Training pages: the run list with workers and queue, the start form, cancel and retry."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.roles import OPERATE_TRAINING, VIEW_DASHBOARD
from jobs.lifecycle import JobRefused
from jobs.models import JobStatus
from jobs.panels import render_panels
from training import services
from training.capabilities import Requirements, capable_workers, refusal, requirements_of
from training.checkpoint_store import resume_note
from training.forms import RunForm, start_form_guide
from training.models import TrainingRun
from training.services import hooks
from training.workers import online_workers


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def run_list(request):
    runs = list(TrainingRun.objects.select_related("dataset").with_latest_loss()[:100])
    return render(request, "training/runs/run_list.html", {
        "runs": runs, "workers": online_workers(),
        "queue_depth": TrainingRun.objects.filter(status=JobStatus.QUEUED).count(),
        "running": TrainingRun.objects.filter(status__in=(JobStatus.PREPARING, JobStatus.RUNNING)).count(),
        "can_operate": request.user.has_perm(OPERATE_TRAINING),
        "panels": render_panels(hooks.training_page_panels, request),
    })


@permission_required(OPERATE_TRAINING, raise_exception=True)
def run_new(request):
    guide = start_form_guide(request.POST if request.method == "POST" else request.GET)
    form = RunForm(request.POST or None, defaults=guide["values"],
                   initial={"dataset": guide["dataset_id"], "stored_base": guide["base"]})
    if request.method == "POST" and form.is_valid():
        try:
            run = services.start_run(request.user, dataset=form.cleaned_data["dataset"],
                                     base_model=form.chosen_base_model(), backend=form.cleaned_data["backend"],
                                     hyperparameters=form.hyperparameters(), requirements=form.requirements(),
                                     setting_reasons=form.setting_reasons(guide))
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Run {run.pk} queued on {run.queue_name}.")
            for warning in services.dataset_warnings(run.dataset):
                messages.warning(request, f"Warning: {warning}.")
            if not capable_workers(requirements_of(run), online_workers()):
                messages.warning(request, f"No online worker can take it yet: it waits on {run.queue_name} until one "
                                          "that has what it needs starts.")
            return redirect(run)
    return render(request, "training/runs/run_new.html", {"form": form, "workers": _worker_rows(), "guide": guide},
                  status=400 if form.errors else 200)


def _worker_rows() -> list[dict]:
    """Online training workers with what they have; the page marks those that can take the chosen run."""
    rows = []
    for worker in online_workers():
        devices = worker.devices or []
        gpus = [d for d in devices if d.get("kind") == "gpu"]
        rows.append({"worker": worker, "gpus": gpus, "gpu_mb": max((d.get("memory_total_mb") or 0 for d in gpus),
                                                                     default=None),
                     "ram_mb": max((d.get("memory_total_mb") or 0 for d in devices if d.get("kind") == "cpu"),
                                   default=None),
                     "can_take_cpu_run": not refusal(Requirements(), devices, worker.backends or [])})
    return rows


def _back(request, fallback="run_list"):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@require_POST
@permission_required(OPERATE_TRAINING, raise_exception=True)
def run_cancel(request, run_id: int):
    run = get_object_or_404(TrainingRun, pk=run_id)
    try:
        services.cancel_run(run, request.user)
        messages.success(request, f"Cancellation of run {run.pk} requested.")
    except JobRefused as exc:
        messages.error(request, str(exc))
    return _back(request)


@require_POST
@permission_required(OPERATE_TRAINING, raise_exception=True)
def run_retry(request, run_id: int):
    run = get_object_or_404(TrainingRun, pk=run_id)
    try:
        run = services.retry_run(run, request.user)
        messages.success(request, f"Run {run.pk} queued again. {resume_note(run)}")
    except JobRefused as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _back(request)
