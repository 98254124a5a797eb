"""Celery task of the Arena: run one evaluation (training queue, it needs the model)."""

from celery import shared_task


@shared_task(name="arena.execute_evaluation", bind=True, acks_late=True)
def execute_evaluation(self, evaluation_id: int) -> str | None:
    """Claim evaluation_id and run it to its verdict; a second delivery finds it claimed and does nothing."""
    from arena.services import run_evaluation

    evaluation = run_evaluation(evaluation_id, worker=getattr(self.request, "hostname", None) or "")
    return evaluation.status if evaluation else None
