"""Hooks apps above the Arena register to hear about evaluations.

The Arena never imports the apps above it; they append callables to these lists from their
AppConfig.ready().
"""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Called with an evaluation once it has ended (with a verdict, failed, cancelled or lost) and that has committed.
on_evaluation_finished: list[Callable] = []


def call_finished_hooks(model, pk: int, status: str) -> None:
    """The job lifecycle's on_ended hook: for an evaluation, call every on_evaluation_finished hook with a
    fresh copy; one failing hook does not stop the rest."""
    from arena.models import Evaluation

    if model is not Evaluation:
        return
    evaluation = Evaluation.objects.filter(pk=pk).first()
    if evaluation is None:
        return
    for hook in list(on_evaluation_finished):
        try:
            hook(evaluation)
        except Exception:
            logger.exception("on_evaluation_finished hook %r failed for evaluation %s", hook, pk)
