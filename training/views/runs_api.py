"""JSON API for runs: list/start, detail, cancel, retry, metrics."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse

from accounts.api import api_view, json_error, read_json
from accounts.roles import OPERATE_TRAINING, VIEW_DASHBOARD
from curation.models import DatasetSnapshot
from training import services
from training.models import MetricPoint, TrainingRun

START_KEYS = {"dataset", "base_model", "backend", "hyperparameters"}


def run_to_dict(run: TrainingRun) -> dict:
    return {
        "id": run.pk, "status": run.status, "dataset": run.dataset.sha256, "base_model": run.base_model,
        "hyperparameters": run.hyperparameters, "requested_backend": run.requested_backend, "backend": run.backend,
        "device": run.device, "worker": run.worker, "container_id": run.container_id, "pid": run.pid,
        "progress": run.progress, "eta_seconds": run.eta_seconds, "current_step": run.current_step,
        "total_steps": run.total_steps, "cancel_requested": run.cancel_requested, "exit_code": run.exit_code,
        "error": run.error, "human_error": run.human_error, "run_dir": run.run_dir, "artifacts": run.artifacts,
        "final_metrics": run.final_metrics, "attempt": run.attempt,
        "created_at": run.created_at.isoformat(), "started_at": run.started_at and run.started_at.isoformat(),
        "finished_at": run.finished_at and run.finished_at.isoformat(),
        "heartbeat_at": run.heartbeat_at and run.heartbeat_at.isoformat(),
        "url": f"/training/runs/{run.pk}/",
    }


def _validation_error(exc: ValidationError):
    if hasattr(exc, "error_dict"):
        details = [{"field": field, "message": message} for field, msgs in exc.message_dict.items() for message in msgs]
    else:
        details = [{"field": None, "message": message} for message in exc.messages]
    return json_error("invalid run: " + "; ".join(d["message"] for d in details), 400, details)


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
    return JsonResponse({"runs": [run_to_dict(r) for r in qs[:100]]})


def _start(request):
    if not request.principal.has_perm(OPERATE_TRAINING):
        return json_error(f"permission denied: requires {OPERATE_TRAINING}", 403)
    data, error = read_json(request, settings.API_MAX_BODY_BYTES)
    if error:
        return error
    if not isinstance(data, dict):
        return json_error("body must be a JSON object", 400)
    unknown = sorted(set(data) - START_KEYS)
    if unknown:
        return json_error("unknown fields", 400, [{"field": k, "message": f"{k}: unknown field"} for k in unknown])
    sha = data.get("dataset")
    dataset = DatasetSnapshot.objects.filter(sha256=sha).first() if isinstance(sha, str) else None
    if dataset is None:
        return json_error("dataset not found", 400, [{"field": "dataset", "message": f"dataset: no snapshot {sha!r}"}])
    try:
        run = services.start_run(request.user, dataset=dataset, base_model=data.get("base_model") or None,
                                 hyperparameters=data.get("hyperparameters"), backend=data.get("backend") or "auto")
    except ValidationError as exc:
        return _validation_error(exc)
    except PermissionDenied as exc:
        return json_error(str(exc), 403)
    return JsonResponse(run_to_dict(run), status=201)


@api_view(VIEW_DASHBOARD)
def run_detail(request, run_id: int):
    run, error = _get_run(run_id)
    return error or JsonResponse(run_to_dict(run))


def _change(request, run_id: int, action):
    run, error = _get_run(run_id)
    if error:
        return error
    try:
        run = action(run, request.user)
    except services.RunRefused as exc:
        return json_error(str(exc), 409)
    except ValidationError as exc:
        return _validation_error(exc)
    except PermissionDenied as exc:
        return json_error(str(exc), 403)
    return JsonResponse(run_to_dict(run))


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
