"""The live run page and the compare page (read-only; live data comes over the websocket)."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render

from accounts.roles import OPERATE_TRAINING, VIEW_DASHBOARD
from jobs.models import JobStatus
from jobs.panels import render_panels
from training import model_store
from training.ingest import end_of_run
from training.live_snapshot import lttb
from training.models import MetricPoint, TrainingRun
from training.services import hooks

MAX_COMPARED_RUNS = 8
COMPARE_MAX_POINTS = 1500
PICKABLE_RUNS = 50


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def run_detail(request, run_id: int):
    # Every dashboard role may read every run; the decorator checked that permission.
    run = get_object_or_404(TrainingRun.objects.select_related("dataset"), pk=run_id)
    context = {
        "run": run,
        "outcome": end_of_run(run.final_metrics or {}, run.total_steps) if run.status == JobStatus.SUCCEEDED else "",
        "can_cancel": request.user.has_perm(OPERATE_TRAINING),
        "hyperparameters": sorted((run.hyperparameters or {}).items()),
        "panels": render_panels(hooks.run_page_panels, request, run),
    }
    return render(request, "training/live/run_detail.html", context)


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def run_compare(request):
    ids, errors = _parse_ids(request.GET.getlist("runs") + request.GET.getlist("run"))
    runs = list(TrainingRun.objects.filter(pk__in=ids).select_related("dataset"))
    runs.sort(key=lambda run: ids.index(run.pk))
    missing = sorted(set(ids) - {run.pk for run in runs})
    if missing:
        errors.append("no run with id " + ", ".join(map(str, missing)))
    context = {
        "runs": runs,
        "errors": errors,
        "selected": ids,
        "pickable": TrainingRun.objects.all()[:PICKABLE_RUNS],
        "rows": _hyperparameter_rows(runs),
        "series": [_series(run) for run in runs],
    }
    return render(request, "training/live/run_compare.html", context)


def _parse_ids(values: list[str]) -> tuple[list[int], list[str]]:
    """Run ids from ?runs=1,2&run=3 (order kept, duplicates dropped) and what was wrong."""
    ids: list[int] = []
    errors: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                errors.append(f"{part[:20]!r} is not a run id")
            elif int(part) not in ids:
                ids.append(int(part))
    if len(ids) > MAX_COMPARED_RUNS:
        errors.append(f"at most {MAX_COMPARED_RUNS} runs can be compared; showing the first {MAX_COMPARED_RUNS}")
        ids = ids[:MAX_COMPARED_RUNS]
    return ids, errors


def _hyperparameter_rows(runs: list[TrainingRun]) -> list[dict]:
    """One row per setting: its value in each run and whether the runs differ."""
    settings_per_run = [{"base model": model_store.display_name(run.base_model), "dataset": str(run.dataset_id),
                         **(run.hyperparameters or {})} for run in runs]
    keys = sorted({key for values in settings_per_run for key in values})
    rows = []
    for key in keys:
        values = [values.get(key, "–") for values in settings_per_run]
        rows.append({"key": key, "values": values, "differs": len({repr(v) for v in values}) > 1})
    return rows


def _series(run: TrainingRun) -> dict:
    series = {"id": run.pk, "label": f"#{run.pk} {model_store.display_name(run.base_model)}"[:60], "status": run.status}
    for kind in (MetricPoint.Kind.TRAIN, MetricPoint.Kind.EVAL):
        rows = list(MetricPoint.objects.filter(run=run, kind=kind).order_by("step")
                    .values_list("step", "epoch", "loss"))
        rows = lttb(rows, COMPARE_MAX_POINTS, y=lambda row: row[2])
        series[kind] = {"step": [r[0] for r in rows], "epoch": [r[1] for r in rows], "loss": [r[2] for r in rows]}
    return series
