"""JSON API for datasets: list snapshots, start a build, read a build, metadata and download."""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.api import api_view, json_error
from accounts.payloads import error_response, read_payload, validation_details
from accounts.roles import BUILD_DATASETS, VIEW_DASHBOARD
from curation.models import DatasetBuild, DatasetSnapshot
from curation.payloads import StartBuild
from curation.services.datasets import start_build
from curation.snapshots import snapshot_file


@api_view(VIEW_DASHBOARD)
def _list(request):
    snapshots = DatasetSnapshot.objects.all()[:500]
    return JsonResponse({"datasets": [s.to_dict() for s in snapshots]})


@api_view(BUILD_DATASETS, methods=("POST",))
def _create(request):
    body, error = read_payload(request, StartBuild, what="dataset build")
    if error:
        return error
    try:
        build = start_build(request.user, name=body.name, format=body.format, overrides=body.overrides())
    except ValidationError as exc:
        return error_response("dataset build", validation_details(exc))
    return JsonResponse(build.to_dict(), status=202)


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
    return JsonResponse(build.to_dict())


def _snapshot_or_404(sha256: str):
    snapshot = DatasetSnapshot.objects.filter(sha256=sha256).first()
    return snapshot, None if snapshot else json_error(f"no dataset with sha256 {sha256}", 404)


@api_view(VIEW_DASHBOARD)
def dataset_detail(request, sha256: str):
    snapshot, error = _snapshot_or_404(sha256)
    return error or JsonResponse(snapshot.to_dict(full=True))


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
