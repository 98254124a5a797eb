"""Dataset pages: list, build form, build progress and funnel, snapshot detail and download."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render

from accounts.roles import BUILD_DATASETS, VIEW_DASHBOARD
from curation.forms import DatasetBuildForm
from curation.models import DatasetBuild, DatasetSnapshot
from curation.services.datasets import start_build
from curation.snapshots import preview_rows, snapshot_file

PREVIEW_ROWS = 10


def _snapshot_or_404(sha256: str) -> DatasetSnapshot:
    # Every role may read datasets; the permission decorator has already checked that.
    snapshot = DatasetSnapshot.objects.filter(sha256=sha256).first()
    if snapshot is None:
        raise Http404("No such dataset.")
    return snapshot


def _build_or_404(build_id: int) -> DatasetBuild:
    build = DatasetBuild.objects.select_related("snapshot", "created_by").filter(pk=build_id).first()
    if build is None:
        raise Http404("No such build.")
    return build


def _pretty(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def _row_fields(row: dict) -> dict:
    """A preview row as readable fields: the text it trains on, then where it came from."""
    if isinstance(row.get("messages"), list):
        fields = [(m.get("role", "?"), m.get("content", "")) for m in row["messages"] if isinstance(m, dict)]
    elif isinstance(row.get("conversations"), list):
        fields = [(m.get("from", "?"), m.get("value", "")) for m in row["conversations"] if isinstance(m, dict)]
    else:
        fields = [(key, row.get(key, "")) for key in ("instruction", "input", "output") if row.get(key)]
    source = row.get("source") or {}
    origin = " ".join(str(source.get(key, "")) for key in ("kind", "ref") if source.get(key))
    return {"fields": fields, "split": row.get("split", ""), "source": origin}


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def dataset_list(request):
    return render(request, "curation/datasets/dataset_list.html", {
        "snapshots": DatasetSnapshot.objects.select_related("created_by")[:100],
        "builds": DatasetBuild.objects.select_related("snapshot", "created_by")[:30],
        "can_build": request.user.has_perm(BUILD_DATASETS),
    })


@permission_required(BUILD_DATASETS, raise_exception=True)
def build_new(request):
    form = DatasetBuildForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            build = start_build(request.user, name=form.cleaned_data["name"], format=form.cleaned_data["format"],
                                overrides=form.overrides())
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, f"Build “{build.name}” queued.")
            return redirect("dataset_build_detail", build_id=build.pk)
    return render(request, "curation/datasets/build_form.html", {"form": form}, status=400 if form.errors else 200)


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def build_detail(request, build_id: int):
    build = _build_or_404(build_id)
    return render(request, "curation/datasets/build_detail.html", {"build": build, "funnel": build.funnel,
                                                                   "config_text": _pretty(build.config)})


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def snapshot_detail(request, sha256: str):
    snapshot = _snapshot_or_404(sha256)
    try:
        rows = preview_rows(snapshot, PREVIEW_ROWS)
        missing = ""
    except FileNotFoundError as exc:
        rows, missing = [], str(exc)
    return render(request, "curation/datasets/snapshot_detail.html", {
        "snapshot": snapshot, "rows": rows, "missing": missing, "funnel": snapshot.funnel,
        "row_views": [_row_fields(row) for row in rows], "config_text": _pretty(snapshot.config),
        "chart_data": {"per_source": snapshot.stats.get("per_source", {}),
                       "per_source_split": snapshot.stats.get("per_source_split", {}),
                       "tokens": snapshot.stats.get("tokens", {})},
    })


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def snapshot_download(request, sha256: str):
    snapshot = _snapshot_or_404(sha256)
    try:
        path = snapshot_file(snapshot)
    except FileNotFoundError as exc:
        raise Http404(str(exc)) from None
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{snapshot.name}-{snapshot.short_hash}.jsonl",
                        content_type="application/jsonl")
