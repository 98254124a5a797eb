import json
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import JobStatus
from tests.training.factories import make_snapshot
from training import services
from training.backends.local import wait_gone
from training.models import TrainingRun
from training.worker_host import heartbeat

pytestmark = pytest.mark.django_db


def reap() -> dict:
    """The one reaper's report for training runs."""
    from jobs.reaper import reap as reap_all

    return reap_all()["training.TrainingRun"]


@pytest.fixture
def claimed(bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model="org/model", backend="local")
    return services.claim_run(run.pk, "gone@host")


def test_a_run_whose_worker_stopped_reporting_becomes_lost(claimed, settings):
    settings.TRAINING_LOST_AFTER_SECONDS = 60
    TrainingRun.objects.filter(pk=claimed.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=120))
    assert reap()["lost"] == [claimed.pk]
    run = TrainingRun.objects.get(pk=claimed.pk)
    assert run.status == JobStatus.LOST and "retry" in run.human_error


def test_a_run_with_a_fresh_heartbeat_is_left_alone(claimed, settings):
    settings.TRAINING_LOST_AFTER_SECONDS = 60
    assert reap()["lost"] == []
    assert TrainingRun.objects.get(pk=claimed.pk).status == JobStatus.PREPARING


def test_a_lost_run_can_be_retried(claimed, bob, settings):
    settings.TRAINING_LOST_AFTER_SECONDS = 60
    TrainingRun.objects.filter(pk=claimed.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=120))
    reap()
    assert services.retry_run(TrainingRun.objects.get(pk=claimed.pk), bob).status == JobStatus.QUEUED


def test_the_reaper_kills_the_process_group_of_an_inactive_run_only(claimed, bob, settings):
    settings.TRAINING_TRAINER_MODULE = "tests.training.fake_trainer"
    other = services.start_run(bob, dataset=make_snapshot(), base_model="org/model", backend="local")
    procs = []
    for run in (claimed, other):
        spec = settings.DATA_DIR / "runs" / str(run.pk) / "spec.json"
        spec.parent.mkdir(parents=True)
        spec.write_text(json.dumps({"output_dir": str(spec.parent)}))
        procs.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-m",
                                       "tests.training.fake_trainer", "--spec", str(spec)], start_new_session=True))
    TrainingRun.objects.filter(pk=claimed.pk).update(status=JobStatus.FAILED)
    try:
        result = reap()
        assert procs[0].wait(timeout=10) == -signal.SIGKILL
        assert procs[1].poll() is None
        assert any(f"run {claimed.pk}" in item for item in result["removed"])
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        assert wait_gone(procs[1].pid, 5)


def test_a_worker_heartbeat_records_its_devices_and_backends(db, settings, monkeypatch):
    monkeypatch.setattr("training.backends.docker._ping", lambda: "no engine (test)")
    settings.ENABLE_GPU = False
    worker = heartbeat("gpu0@host", ["training"])
    assert worker.backends == ["local"]
    assert worker.devices[0]["kind"] == "cpu" and worker.devices[0]["cpu_count"] >= 1
    assert heartbeat("gpu0@host", ["training"]).pk == worker.pk


def test_a_trainer_that_exits_mid_scan_does_not_break_the_local_reap():
    import subprocess

    from training.backends.local import _leads_own_group

    child = subprocess.Popen(["true"], start_new_session=True)
    child.wait()
    assert _leads_own_group(child.pid) is False  # gone: no ProcessLookupError escapes
    leader = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert _leads_own_group(leader.pid) is True
    finally:
        leader.kill()
        leader.wait()
