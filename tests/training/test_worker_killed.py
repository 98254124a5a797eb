"""A training worker killed mid-run: the run becomes lost, the reaper ends the orphaned trainer, retry resumes.

A real `celery worker` process runs the real trainer on the toy model through the local
backend; it shares the test database, so this needs PostgreSQL (and Redis as the broker).
"""

import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery import Celery
from kombu import Exchange, Queue

from jobs.models import JobStatus
from jobs.tasks import reap_task
from tests.celery_workers import needs_postgres, start_worker
from tests.training.factories import make_snapshot
from tests.training.trainer_fixtures import toy_model
from training import services
from training.backends.local import LocalBackend, wait_gone
from training.execution import execute
from training.models import MetricPoint, TrainingRun
from training.trainer import checkpoints

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]

# Long enough that the first attempt is still training when the test stops it (a step takes
# milliseconds on the toy model), short enough that the retry finishes quickly.
PLAN = {"lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.0, "learning_rate": 0.02, "batch_size": 4,
        "max_seq_length": 64, "num_epochs": 100, "max_steps": 300, "save_every_steps": 1,
        "eval_every_steps": 1000, "logging_every_steps": 1, "seed": 7, "early_stopping_patience": 0}
WAIT_SECONDS = 180


@dataclass
class TrainingWorker:
    process: subprocess.Popen
    queue: str
    log: Path
    client: Celery

    def execute(self, run_id: int) -> None:
        self.client.send_task("training.tasks.execute_run", args=[run_id], queue=self.queue)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@pytest.fixture
def training_worker(redis_url, settings, tmp_path):
    """A real `celery worker` on a queue of its own, on the test database and this test's data root."""
    queue = f"test-killed-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    process = start_worker(queue=queue, node=f"{queue}@%h", data_dir=settings.DATA_DIR, redis_url=redis_url, log=log)
    worker = TrainingWorker(process, queue, log, Celery(broker=redis_url, set_as_current=False))
    try:
        yield worker
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        # Whatever happened above, no trainer of this test may outlive it.
        LocalBackend.reap(keep_run_ids=set())
        _forget_queue(worker.client, queue)
        worker.client.close()


def _forget_queue(client: Celery, queue: str) -> None:
    """Delete the queue with its bindings, and the message the killed worker held unacknowledged (acks_late)."""
    with client.connection_for_write() as conn:
        channel = conn.default_channel
        bound = Queue(queue, Exchange(queue), routing_key=queue)(channel)
        bound.declare()
        bound.delete()
        for tag, body in channel.client.hscan_iter(channel.unacked_key):
            if queue.encode() in body:
                channel.client.hdel(channel.unacked_key, tag)
                channel.client.zrem(channel.unacked_index_key, tag)


def _proc_stat(pid: int) -> list[str] | None:
    """[state, ppid, pgrp, ...] from /proc/<pid>/stat, or None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _live_group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat and int(stat[2]) == pgid and stat[0] not in ("Z", "X"):
                members.append(int(entry.name))
    return members


def _wait_until_checkpointed(run_id: int, run_dir: Path, worker: TrainingWorker) -> TrainingRun:
    """Poll until the worker's trainer runs and has written a complete checkpoint."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run = TrainingRun.objects.get(pk=run_id)
        if run.is_terminal:
            pytest.fail(f"run ended as {run.status} before it could be stopped: {run.error}\n{worker.log_tail()}")
        if run.status == JobStatus.RUNNING and run.pid and checkpoints.latest(run_dir):
            return run
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited with {worker.process.returncode}\n{worker.log_tail()}")
        time.sleep(0.1)
    pytest.fail(f"no checkpoint after {WAIT_SECONDS}s (run {TrainingRun.objects.get(pk=run_id).status})\n"
                f"{worker.log_tail()}")


def _wait_for_state(pid: int, state: str) -> None:
    deadline = time.monotonic() + 30
    while (stat := _proc_stat(pid)) and stat[0] != state and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stat and stat[0] == state, f"trainer {pid} is {stat and stat[0]}, expected {state}"


def _reap_until_lost(run_id: int) -> dict:
    """Run the reaper task until the silent run is declared lost (its heartbeat ages past the limit)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = reap_task()["training.TrainingRun"]
        if run_id in result["lost"]:
            return result
        time.sleep(0.5)
    pytest.fail(f"the reaper never declared run {run_id} lost")


def _events(log_path: Path) -> list[dict]:
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith('{"event"')]


@pytest.mark.timeout(400)
def test_a_killed_worker_loses_the_run_the_reaper_ends_its_trainer_and_retry_resumes(
        bob, training_worker, settings, monkeypatch):
    model = toy_model()
    settings.TRAINING_BACKEND = "local"
    settings.TRAINING_MODEL_ROOTS = [model.parent]
    settings.ENABLE_GPU = False
    queued = []
    monkeypatch.setattr("jobs.queueing.send", lambda model, pk: queued.append(pk) or True)
    run = services.start_run(bob, dataset=make_snapshot(24, eval_every=6), base_model=str(model),
                             backend="local", hyperparameters=PLAN)
    assert queued == [run.pk]
    training_worker.execute(run.pk)
    run_dir = settings.DATA_DIR / run.run_dir

    run = _wait_until_checkpointed(run.pk, run_dir, training_worker)
    assert run.worker.startswith(f"{training_worker.queue}@")
    trainer = run.pid
    # Frozen, the trainer cannot notice the closed pipe and die by itself once its worker
    # is gone: it stays an orphan, like one stuck in a long step, until the reaper ends it.
    os.killpg(trainer, signal.SIGSTOP)
    _wait_for_state(trainer, "T")
    checkpoint_step = int(checkpoints.latest(run_dir).name.removeprefix("step-"))
    assert checkpoint_step > 0

    training_worker.process.send_signal(signal.SIGKILL)
    assert training_worker.process.wait(timeout=30) == -signal.SIGKILL
    orphan = _proc_stat(trainer)
    assert orphan is not None and orphan[0] == "T"
    assert int(orphan[1]) != training_worker.process.pid
    assert TrainingRun.objects.get(pk=run.pk).status == JobStatus.RUNNING

    settings.TRAINING_LOST_AFTER_SECONDS = 1
    result = _reap_until_lost(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.LOST and "retry" in run.human_error
    assert f"pid {trainer} (run {run.pk})" in result["removed"]
    assert wait_gone(trainer, 30)
    assert _live_group_members(trainer) == []

    run = services.retry_run(run, bob)
    assert queued == [run.pk, run.pk]
    assert execute(run.pk, "retry@host") == JobStatus.SUCCEEDED, TrainingRun.objects.get(pk=run.pk).error
    run.refresh_from_db()
    assert run.attempt == 2
    events = _events(settings.DATA_DIR / run.artifacts["log"])
    start = [e for e in events if e["event"] == "start"][-1]
    assert start["resumed_from_step"] == checkpoint_step
    first_metric = next(e for e in events[events.index(start):] if e["event"] == "metric")
    assert first_metric["step"] == checkpoint_step + 1
    assert run.final_metrics["steps"] == PLAN["max_steps"]
    assert MetricPoint.objects.filter(run=run, kind="train", step=PLAN["max_steps"]).exists()
