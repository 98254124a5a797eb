"""What the registry contributes to the Overview: evaluate and promote steps, active versions, decisions waiting."""

from django.template.loader import render_to_string
from django.urls import reverse

from models_registry.models import Activation, ModelLine, ModelVersion


def _newest_candidate():
    return ModelVersion.objects.candidates().select_related("line").order_by("-created_at", "-id").first()


def steps() -> list[dict]:
    candidate = _newest_candidate()
    evaluated = any((metrics or {}).get("arena") for metrics in ModelVersion.objects.values_list("metrics", flat=True))
    target = reverse("version_detail", args=[candidate.line.name, candidate.label]) if candidate \
        else reverse("line_list")
    return [
        {"order": 50, "key": "evaluate", "label": "Evaluate the candidate", "done": evaluated, "url": target,
         "hint": "The Arena compares the new version with the active one on held-out data and the exam."},
        # A version trained here, made active: the demo's "as it ships" version does not count.
        {"order": 60, "key": "promote", "label": "Promote it", "url": target,
         "done": Activation.objects.filter(to_version__training_run__isnull=False).exists(),
         "hint": "The endpoint /v1/chat/completions switches to it without a restart; roll back any time."},
    ]


def waiting() -> list[dict]:
    count = ModelVersion.objects.candidates().count()
    return [{"label": "Candidate versions awaiting a decision", "label_one": "Candidate version awaiting a decision",
             "value": count, "url": reverse("line_list")}] if count else []


def panel(request) -> str | None:
    """The active version of each line."""
    lines = list(ModelLine.objects.order_by("name"))
    if not lines:
        return None
    rows = []
    for line in lines:
        last = line.activations.changes().order_by("-created_at", "-id").first()
        rows.append({"line": line, "active": line.active_version(), "since": last.created_at if last else None})
    return render_to_string("models_registry/_overview_active.html", {"rows": rows}, request=request)
