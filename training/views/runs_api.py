"""JSON API for runs: list/start, detail, cancel, retry, metrics."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse

from accounts.api import api_view, json_error
from accounts.payloads import error_response, read_payload, validation_details
from accounts.roles import OPERATE_TRAINING, VIEW_DASHBOARD
from curation.models import DatasetSnapshot
from jobs.lifecycle import JobRefused
from training import services
from training.models import MetricPoint, TrainingRun
from training.payloads import StartRun
from training.workers import online_warning


def _get_run(run_id: int):
    run = TrainingRun.objects.select_related("dataset").filter(pk=run_id).first()
    return run, (None if run else json_error(f"run {run_id} not found", 404))


@api_view(VIEW_DASHBOARD, methods=("GET", "POST"))
def runs(request):
    if request.method == "POST":
        return _start(request)
    qs = TrainingRun.objects.select_related("dataset")
    status = request.GET.get("status")
    if status:
        qs = qs.filter(status=status)
    return JsonResponse({"runs": [r.to_dict() for r in qs[:100]]})


def _start(request):
    try:
        services.check_operate(request.principal)  # the token's role too, before the body is read
    except PermissionDenied as exc:
        return json_error(str(exc), 403)
    body, error = read_payload(request, StartRun, what="run")
    if error:
        return error
    dataset = DatasetSnapshot.objects.filter(sha256=body.dataset).first()
    if dataset is None:
        return error_response("run", [{"field": "dataset", "message": f"dataset: no snapshot {body.dataset!r}"}])
    try:
        run = services.start_run(request.user, dataset=dataset, base_model=body.base_model or None,
                                 hyperparameters=body.hyperparameters, backend=body.backend,
                                 requirements=body.requirements)
    except ValidationError as exc:
        return error_response("run", validation_details(exc))
    except PermissionDenied as exc:
        return json_error(str(exc), 403)
    warnings = [*services.dataset_warnings(dataset), *filter(None, [online_warning(run)])]
    return JsonResponse({**run.to_dict(), "warnings": warnings}, status=201)


@api_view(VIEW_DASHBOARD)
def run_detail(request, run_id: int):
    run, error = _get_run(run_id)
    return error or JsonResponse(run.to_dict())


def _change(request, run_id: int, action):
    run, error = _get_run(run_id)
    if error:
        return error
    try:
        run = action(run, request.user)
    except JobRefused as exc:
        return json_error(str(exc), 409)
    except ValidationError as exc:
        return error_response("run", validation_details(exc))
    except PermissionDenied as exc:
        return json_error(str(exc), 403)
    return JsonResponse(run.to_dict())


@api_view(OPERATE_TRAINING, methods=("POST",))
def run_cancel(request, run_id: int):
    return _change(request, run_id, services.cancel_run)


@api_view(OPERATE_TRAINING, methods=("POST",))
def run_retry(request, run_id: int):
    return _change(request, run_id, services.retry_run)


@api_view(VIEW_DASHBOARD)
def run_metrics(request, run_id: int):
    run, error = _get_run(run_id)
    if error:
        return error
    raw = request.GET.get("after_step", "-1")
    try:
        after = int(raw)
    except ValueError:
        return json_error("after_step must be an integer", 400, [{"field": "after_step", "message": raw[:50]}])
    points = MetricPoint.objects.filter(run=run, step__gt=after).order_by("step", "kind")[:5000]
    return JsonResponse({"run": run.pk, "status": run.status, "points": [
        {"kind": p.kind, "step": p.step, "epoch": p.epoch, "loss": p.loss, "lr": p.learning_rate,
         "tokens_per_s": p.tokens_per_s, "ts": p.ts} for p in points]})
