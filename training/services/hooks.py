"""Hooks downstream apps register to hear about finished runs (training never imports them)."""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

on_run_succeeded: list[Callable] = []


def call_succeeded_hooks(run_id: int) -> None:
    """Call every on_run_succeeded hook with a fresh copy of the run; one failing hook does not stop the rest."""
    from training.models import TrainingRun

    run = TrainingRun.objects.get(pk=run_id)
    for hook in list(on_run_succeeded):
        try:
            hook(run)
        except Exception:
            logger.exception("on_run_succeeded hook %r failed for run %s", hook, run_id)
