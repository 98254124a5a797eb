"""Counters for the Overview page, contributed by each app.

An app config that defines `overview_counts()` returns a list of dicts
{"key", "label", "value", "url"}; this module only gathers them, so the apps keep
their one-way dependencies.
"""

from django.apps import apps

from jobs.panels import render_panels


def collect_counts() -> list[dict]:
    counts: list[dict] = []
    for config in apps.get_app_configs():
        contribute = getattr(config, "overview_counts", None)
        if contribute is not None:
            counts.extend(contribute())
    return counts


def collect_panels(request) -> list:
    """HTML panels from app configs that define `overview_panel(request)` (None: nothing to show)."""
    return render_panels((config.overview_panel for config in apps.get_app_configs()
                          if hasattr(config, "overview_panel")), request)


RECENT_RUNS = 10


def collect_runs() -> list[dict]:
    """Active runs and the most recent others, with their latest train loss."""
    from training.models import TrainingRun

    runs = TrainingRun.objects.with_latest_loss()
    fields = ("id", "status", "progress", "eta_seconds", "base_model", "latest_loss", "latest_step")
    active = list(runs.active().values(*fields))
    seen = {run["id"] for run in active}
    recent = [run for run in runs.values(*fields)[:RECENT_RUNS] if run["id"] not in seen]
    from training.model_store import display_name

    # Base models by the name people know (a stored model's display name), never a host path.
    return [{**run, "base_model": display_name(run["base_model"]), "step": run.pop("latest_step"),
             "loss": run.pop("latest_loss")} for run in active + recent]
