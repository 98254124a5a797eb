from arena.models import Evaluation
from jobs.consumers import JobConsumer


class EvaluationConsumer(JobConsumer):
    """Live status and progress of one evaluation (ws/evaluations/<pk>/)."""

    job_model = Evaluation
