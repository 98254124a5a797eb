"""Services mode end to end: a real Celery worker runs the cycle task, the run and the evaluation."""

import subprocess
import time

import pytest

from models_registry.models import ModelLine
from professor.cycle import start_cycle
from professor.models import Cycle, Outcome, Trigger
from tests.celery_workers import needs_postgres, start_worker
from tests.professor.test_cycle import domain_exam, domain_lessons
from training.backends.local import LocalBackend

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]
WAIT_SECONDS = 480


@pytest.fixture
def worker(redis_url, settings, tmp_path):
    """`celery worker` on the default and training queues, on the test database and this test's data root."""
    log = tmp_path / "worker.log"
    process = start_worker(queue="default,training,training.cpu", node="professor-test@%h", data_dir=settings.DATA_DIR,
                           redis_url=redis_url, log=log, pool="threads", concurrency=3,
                           MEMORY_ROOT=str(tmp_path / "memory"), MIN_LESSONS_FOR_TRAINING="40",
                           MIN_NEW_EXAMPLES_FOR_TRAINING="10", MIN_DATASET_EXAMPLES="20", ARENA_HOLDOUT_SIZE="12",
                           PROFESSOR_APPROVE_FIRST_PROMOTION="false", ARENA_MAX_NEW_TOKENS="12",
                           ARENA_BATCH_SIZE="4", ARENA_BOOTSTRAP_SAMPLES="500",
                           # the recipe's seed noise declared, as in the other loop tests: no replicas first
                           ARENA_SEED_SD="0.02")
    try:
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        LocalBackend.reap(keep_run_ids=set())


def test_a_queued_cycle_is_run_by_the_workers_to_an_active_version(settings, worker):
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    from training.base_models import default_base_model

    settings.MIN_LESSONS_FOR_TRAINING = 40
    domain_lessons(48)
    line = ModelLine.objects.create(name="default", base_model=default_base_model())
    domain_exam(line)

    cycle = start_cycle(None, trigger=Trigger.API)  # queued for a worker after commit

    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        cycle.refresh_from_db()
        if cycle.is_terminal:
            break
        time.sleep(1.0)
    log = worker.read_text(errors="replace")[-3000:]
    journal = "\n".join(f"{e.step} {e.outcome}: {e.message}" for e in cycle.journal.all())
    assert cycle.status == "succeeded" and cycle.outcome == Outcome.PROMOTED, f"{journal}\n{log}"
    assert cycle.worker.startswith("professor-test@") and cycle.run.worker.startswith("professor-test@")
    assert line.active_version() == cycle.version
    assert not Cycle.objects.exclude(pk=cycle.pk).exists()
