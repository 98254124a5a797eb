"""JSON API for datasets: list snapshots, start a build, read a build, metadata and download."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from accounts.api import api_view, json_error, read_json
from accounts.roles import BUILD_DATASETS, VIEW_DASHBOARD
from curation.models import DatasetBuild, DatasetSnapshot
from curation.services.datasets import snapshot_file, start_build

_BUILD_KEYS = {"name", "format", "sources", "filters", "secrets_mode", "dedup", "split", "seed"}


def snapshot_json(snapshot: DatasetSnapshot, *, full: bool = False) -> dict:
    data = {
        "sha256": snapshot.sha256, "name": snapshot.name, "format": snapshot.format,
        "rows": snapshot.row_count, "train": snapshot.train_count, "eval": snapshot.eval_count,
        "created_at": snapshot.created_at.isoformat(),
        "download_url": reverse("api_dataset_download", args=[snapshot.sha256]),
    }
    if full:
        data.update(config=snapshot.config, stats=snapshot.stats, funnel=snapshot.funnel)
    return data


def build_json(build: DatasetBuild) -> dict:
    return {
        "id": build.pk, "name": build.name, "format": build.format, "status": build.status,
        "progress": build.progress, "error": build.error, "config": build.config, "funnel": build.funnel,
        "dataset": build.snapshot.sha256 if build.snapshot_id else None,
        "url": reverse("api_dataset_build", args=[build.pk]),
    }


@api_view(VIEW_DASHBOARD)
def _list(request):
    snapshots = DatasetSnapshot.objects.all()[:500]
    return JsonResponse({"datasets": [snapshot_json(s) for s in snapshots]})


@api_view(BUILD_DATASETS, methods=("POST",))
def _create(request):
    data, error = read_json(request, settings.API_MAX_BODY_BYTES)
    if error:
        return error
    if not isinstance(data, dict):
        return json_error("the body must be a JSON object", 400)
    unknown = sorted(set(data) - _BUILD_KEYS)
    if unknown:
        return json_error("unknown fields", 400, [f"unknown field '{key}'" for key in unknown])
    overrides = {k: v for k, v in data.items() if k not in ("name", "format", "seed")}
    if "seed" in data and isinstance(overrides.get("split", {}), dict):
        overrides["split"] = {**overrides.get("split", {}), "seed": data["seed"]}
    try:
        build = start_build(request.user, name=data.get("name", ""), format=data.get("format", "alpaca"),
                            overrides=overrides)
    except ValidationError as exc:
        return json_error("invalid dataset build", 400, exc.messages)
    return JsonResponse(build_json(build), status=202)


@login_not_required
@csrf_exempt
def datasets(request):
    """GET lists snapshots (any role); POST starts a build (build_datasets)."""
    return _create(request) if request.method == "POST" else _list(request)


@api_view(VIEW_DASHBOARD)
def build_detail(request, build_id: int):
    build = DatasetBuild.objects.select_related("snapshot").filter(pk=build_id).first()
    if build is None:
        return json_error("no such build", 404)
    return JsonResponse(build_json(build))


def _snapshot_or_404(sha256: str):
    snapshot = DatasetSnapshot.objects.filter(sha256=sha256).first()
    return snapshot, None if snapshot else json_error(f"no dataset with sha256 {sha256}", 404)


@api_view(VIEW_DASHBOARD)
def dataset_detail(request, sha256: str):
    snapshot, error = _snapshot_or_404(sha256)
    return error or JsonResponse(snapshot_json(snapshot, full=True))


@api_view(VIEW_DASHBOARD)
def dataset_download(request, sha256: str):
    snapshot, error = _snapshot_or_404(sha256)
    if error:
        return error
    try:
        path = snapshot_file(snapshot)
    except FileNotFoundError as exc:
        return json_error(str(exc), 404)
    response = FileResponse(path.open("rb"), as_attachment=True, filename=f"{snapshot.sha256}.jsonl",
                            content_type="application/jsonl")
    response["X-Dataset-Sha256"] = snapshot.sha256
    return response
