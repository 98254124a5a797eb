"""A cycle whose process is killed mid-training fails once the reaper finds its run lost; the next trigger starts."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import lifecycle
from models_registry.models import ModelVersion
from professor.cycle import CycleBusy, start_cycle
from professor.models import Cycle
from tests.celery_workers import needs_postgres, worker_database_url
from tests.professor.test_cycle import domain_lessons
from tests.training.trainer_fixtures import REPO_ROOT
from training.backends.local import LocalBackend
from training.models import TrainingRun

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]
WAIT_SECONDS = 240


def _wait_for(predicate, what: str, log) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{log.read_text(errors='replace')[-3000:]}")


def test_a_killed_cycle_process_fails_when_its_run_is_reaped_lost_and_the_next_trigger_starts(settings, tmp_path):
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    domain_lessons(48)
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY_FILE", "REDIS_URL")}
    env.update(DATABASE_URL=worker_database_url(), SECRET_KEY="cycle-test", ACADEMY_DATA_DIR=str(settings.DATA_DIR),
               MEMORY_ROOT=str(tmp_path / "memory"), ACADEMY_EMBEDDED_WORKER="false", TRAINING_BACKEND="local",
               ENABLE_GPU="false", MIN_LESSONS_FOR_TRAINING="40", MIN_NEW_EXAMPLES_FOR_TRAINING="10",
               MIN_DATASET_EXAMPLES="20", ARENA_HOLDOUT_SIZE="8")
    log = tmp_path / "cycle.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "manage.py", "professor", "cycle", "--wait", "--in-process"],
                                   cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: TrainingRun.objects.filter(status__in=("preparing", "running")).exists()
                  or process.poll() is not None, "the cycle to start training", log)
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        process.send_signal(signal.SIGKILL)  # the process dies mid-training: no more heartbeats from its run
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        LocalBackend.reap(keep_run_ids=set())
    dead = Cycle.objects.get()
    assert dead.status == "running"
    with pytest.raises(CycleBusy, match=f"already running since .*\\(cycle {dead.pk}\\)"):
        start_cycle(None, queue=False)

    run = TrainingRun.objects.get(pk=dead.run_id)
    later = timezone.now() + timedelta(seconds=settings.TRAINING_LOST_AFTER_SECONDS + 5)
    assert lifecycle.reap_stale(TrainingRun, now=later) == [run.pk]  # its end reaches the cycle through the hook

    dead.refresh_from_db()
    assert (dead.status, dead.outcome) == ("failed", "failed")
    assert dead.human_error.startswith(f"training: run {run.pk} lost: ")
    successor = start_cycle(None, queue=False)
    assert Cycle.objects.active().get() == successor
    assert not ModelVersion.objects.filter(status="active").exists()  # nothing of the dead cycle was promoted
