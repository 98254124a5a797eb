"""Hooks downstream apps register to hear about runs and to add to training's pages.

Training never imports the apps above it; they append callables to these lists from their
AppConfig.ready().
"""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

on_run_succeeded: list[Callable] = []
# Called with a run right after start_run created it (inside its transaction).
on_run_created: list[Callable] = []
# (snapshot, worker) -> {hyperparameter: (value, reason)}: suggested settings for a dataset.
parameter_advisors: list[Callable] = []
# (request) -> HTML or None: panels shown on the Training page.
training_page_panels: list[Callable] = []
# (request, run) -> HTML or None: panels shown on a run's page.
run_page_panels: list[Callable] = []


def call_succeeded_hooks(run_id: int) -> None:
    """Call every on_run_succeeded hook with a fresh copy of the run; one failing hook does not stop the rest.
    Then the run's open pages hear "run.results" and show what the hooks made of it (its version)."""
    from jobs import broadcast
    from training.models import TrainingRun

    run = TrainingRun.objects.get(pk=run_id)
    for hook in list(on_run_succeeded):
        try:
            hook(run)
        except Exception:
            logger.exception("on_run_succeeded hook %r failed for run %s", hook, run_id)
    # What the hooks recorded (the registry's new version) is on the run's page now: tell the open ones.
    broadcast.publish_job_events(run.group_name, [{"type": "run.results"}])


def call_created_hooks(run) -> None:
    """Call every on_run_created hook; a failing hook is logged and never stops the start."""
    for hook in list(on_run_created):
        try:
            hook(run)
        except Exception:
            logger.exception("on_run_created hook %r failed for run %s", hook, run.pk)


def advise_parameters(snapshot, worker=None) -> dict:
    """{name: (value, reason)} from the first advisor that answers; {} when none is registered."""
    for advisor in list(parameter_advisors):
        try:
            return advisor(snapshot, worker) or {}
        except Exception:
            logger.exception("parameter advisor %r failed for dataset %s", advisor, snapshot.pk)
    return {}
