"""A cycle whose process is killed mid-training leaves a lease that runs out; the next trigger takes over."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from models_registry.models import ModelVersion
from professor.cycle import start_cycle
from professor.lease import LeaseBusy
from professor.models import Cycle, Lease
from tests.celery_workers import worker_database_url
from tests.professor.test_cycle import domain_lessons
from tests.training.trainer_fixtures import REPO_ROOT
from training.backends.local import LocalBackend

pytestmark = [
    pytest.mark.skipif("postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
                       reason="needs PostgreSQL: the killed process must share the test database "
                              "(run with DATABASE_URL=postgres://...)"),
    pytest.mark.django_db(transaction=True),
]
LEASE_SECONDS = 10
WAIT_SECONDS = 240


def _wait_for(predicate, what: str, log) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{log.read_text(errors='replace')[-3000:]}")


def test_a_killed_cycle_process_leaves_a_lease_that_expires_and_is_taken_over(settings, tmp_path):
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    settings.PROFESSOR_LEASE_SECONDS = LEASE_SECONDS
    domain_lessons(48)
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY_FILE", "REDIS_URL")}
    env.update(DATABASE_URL=worker_database_url(), SECRET_KEY="cycle-test", ACADEMY_DATA_DIR=str(settings.DATA_DIR),
               MEMORY_ROOT=str(tmp_path / "memory"), ACADEMY_EMBEDDED_WORKER="false", TRAINING_BACKEND="local",
               ENABLE_GPU="false", MIN_LESSONS_FOR_TRAINING="40", MIN_NEW_EXAMPLES_FOR_TRAINING="10",
               MIN_DATASET_EXAMPLES="20", ARENA_HOLDOUT_SIZE="8", PROFESSOR_LEASE_SECONDS=str(LEASE_SECONDS))
    log = tmp_path / "cycle.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "manage.py", "professor", "cycle", "--wait", "--in-process"],
                                   cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: Cycle.objects.filter(run__isnull=False).exists() or process.poll() is not None,
                  "the cycle to start its run", log)
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        process.send_signal(signal.SIGKILL)  # the worker dies mid-training: no release, no more heartbeats
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        LocalBackend.reap(keep_run_ids=set())
    dead = Cycle.objects.get()
    assert dead.status == "running"
    with pytest.raises(LeaseBusy, match=f"already running since .*\\(cycle {dead.pk}\\)"):
        start_cycle(None, queue=False)

    _wait_for(lambda: Lease.objects.filter(expires_at__lt=timezone.now()).exists(), "the lease to expire", log)
    successor = start_cycle(None, queue=False)

    dead.refresh_from_db()
    assert dead.status == "lost" and dead.outcome == "failed"
    assert f"cycle {dead.pk} stopped without finishing" in successor.journal.get().message
    assert Lease.objects.get().cycle_id == successor.pk
    assert not ModelVersion.objects.filter(status="active").exists()  # nothing of the dead cycle was promoted
