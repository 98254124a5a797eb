"""What training contributes to the Overview: its steps of the loop and the last run's loss curve."""

from django.template.loader import render_to_string
from django.urls import reverse

from jobs.models import JobStatus
from training.models import MetricPoint, TrainingRun


def steps() -> list[dict]:
    latest = TrainingRun.objects.order_by("-created_at", "-id").first()
    finished = TrainingRun.objects.filter(status=JobStatus.SUCCEEDED).order_by("-finished_at", "-id").first()
    watched = MetricPoint.objects.exists()
    return [
        {"order": 30, "key": "train", "label": "Train an adapter", "done": latest is not None,
         "url": reverse("run_new"), "hint": "Start a LoRA run on a snapshot; a quick try takes minutes on CPU."},
        {"order": 40, "key": "watch", "label": "Watch it learn", "done": watched and finished is not None,
         "url": (finished or latest).get_absolute_url() if (finished or latest) else reverse("run_list"),
         "hint": "The run page draws the loss live until the adapter is saved."},
    ]


def panel(request) -> str | None:
    """The last finished run's loss curve (train and eval), drawn from its stored points."""
    run = TrainingRun.objects.filter(status=JobStatus.SUCCEEDED).order_by("-finished_at", "-id").first()
    if run is None:
        return None
    points = list(run.metrics.filter(loss__isnull=False).order_by("kind", "step").values("kind", "step", "loss"))
    series = {kind: {"x": [p["step"] for p in points if p["kind"] == kind],
                     "y": [round(p["loss"], 4) for p in points if p["kind"] == kind]} for kind in ("train", "eval")}
    return render_to_string("training/_overview_loss.html", {"run": run, "series": series}, request=request)
