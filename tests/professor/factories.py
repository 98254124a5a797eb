"""Plain factories for the Professor's tests."""

from datetime import timedelta

from django.utils import timezone

from curation.models import DatasetSnapshot
from jobs.models import JobStatus
from tests.curation.factories import make_lesson
from training.models import TrainingRun


def make_lessons(count: int, *, hours_ago: float = 0.0, **extra) -> list:
    """`count` lessons (approved unless told), created `hours_ago`."""
    from curation.models import Lesson

    lessons = [make_lesson(**extra) for _ in range(count)]
    if hours_ago:
        Lesson.objects.filter(pk__in=[lesson.pk for lesson in lessons]).update(
            created_at=timezone.now() - timedelta(hours=hours_ago))
    return lessons


def make_snapshot_row(rows: int, *, train: int | None = None, created_at=None) -> DatasetSnapshot:
    """A snapshot row only (no file): enough for readiness and parameter choice."""
    snapshot = DatasetSnapshot.objects.create(
        name="s", sha256=f"{DatasetSnapshot.objects.count() + 1:064x}", format="alpaca", path="datasets/x.jsonl",
        row_count=rows, train_count=rows if train is None else train, eval_count=0)
    if created_at is not None:
        DatasetSnapshot.objects.filter(pk=snapshot.pk).update(created_at=created_at)
        snapshot.refresh_from_db()
    return snapshot


def make_run(snapshot, *, status=JobStatus.SUCCEEDED, hours_ago: float = 0.0, line: str | None = None) -> TrainingRun:
    started = timezone.now() - timedelta(hours=hours_ago)
    hp = {"model_line": line} if line else {}
    return TrainingRun.objects.create(dataset=snapshot, base_model="toy", status=status, hyperparameters=hp,
                                      created_at=started, started_at=started)


def gpu_worker(hostname: str, memory_mb: int):
    from training.models import TrainingWorker

    return TrainingWorker(hostname=hostname, queues=["training"], devices=[
        {"kind": "gpu", "index": 0, "name": "GPU", "memory_total_mb": memory_mb, "label": "cuda:0"}])


def cpu_worker(hostname: str, ram_mb: int):
    from training.models import TrainingWorker

    return TrainingWorker(hostname=hostname, queues=["training"], devices=[
        {"kind": "cpu", "name": "CPU", "cpu_count": 4, "memory_total_mb": ram_mb, "label": "cpu"}])
