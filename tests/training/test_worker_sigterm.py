"""SIGTERM to a real training worker mid-run: it exits promptly, the run goes back to the queue with its
checkpoint in the artifact store, and a worker on another host resumes it from there.

Real `celery worker` processes (each "host" with its own ACADEMY_DATA_DIR, no shared folder) on a
private redis-server, moto's S3 server as the artifact store, the real trainer on the toy model.
They share only the database, so this needs PostgreSQL.
"""

import json
import shutil
import signal
import subprocess
import time

import pytest

from artifacts import store
from jobs.models import JobStatus
from tests.celery_workers import needs_postgres, start_training_host, stop_all, wait_until_consuming
from tests.redis_server import private_redis  # noqa: F401 (fixture)
from tests.s3_server import s3_store  # noqa: F401 (fixture)
from tests.training.factories import make_snapshot
from tests.training.trainer_fixtures import toy_model
from training import services
from training.models import MetricPoint, TrainingRun, TrainingWorker

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]

# Long enough to be mid-run when the signal comes (a toy step takes milliseconds, a checkpoint
# is saved at every one), short enough for the resumed part to end soon.
PLAN = {"lora_rank": 4, "lora_alpha": 8, "lora_dropout": 0.0, "learning_rate": 0.02, "batch_size": 4,
        "max_seq_length": 64, "num_epochs": 1000, "max_steps": 60, "save_every_steps": 1,
        "eval_every_steps": 1000, "logging_every_steps": 1, "seed": 11, "early_stopping_patience": 0}
WAIT_SECONDS = 300
# A hang guard only: before, the worker held the shutdown until the run ended.
EXIT_GUARD_SECONDS = 120


def _events(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith('{"event"')]


def _wait_for(what: str, check, hosts, seconds: float = WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    pytest.fail(f"{what} after {seconds}s\n" + "\n".join(h.log_tail() for h in hosts))


@pytest.mark.timeout(900)
def test_sigterm_mid_run_hands_the_run_back_and_another_host_resumes_it_from_the_uploaded_checkpoint(
        bob, private_redis, s3_store, settings, tmp_path, monkeypatch):  # noqa: F811
    from celery import Celery

    server, store_settings = s3_store
    # Only the first checkpoint goes up while it trains: the one it resumes from is the one saved at the stop.
    env = {**store_settings, "TRAINING_CHECKPOINT_UPLOAD_SECONDS": "3600"}
    client = Celery(broker=private_redis.url, set_as_current=False)
    hosts = []
    try:
        host_a = start_training_host("host-a", tmp_path / "host-a", private_redis.url, "two-hosts", **env)
        hosts.append(host_a)
        wait_until_consuming(client, [host_a])
        model = settings.DATA_DIR / "models" / "tiny-llama-toy"
        shutil.copytree(toy_model(), model)
        settings.TRAINING_MODEL_ROOTS = [settings.DATA_DIR / "models"]
        dataset = make_snapshot(24, eval_every=6)
        store.publish_file(dataset.path)
        monkeypatch.setattr("jobs.queueing.send", lambda model_cls, pk: client.send_task(
            model_cls.task_name, args=[pk], queue=model_cls.queue_for(pk)))
        run = services.start_run(bob, dataset=dataset, base_model=str(model), backend="local", hyperparameters=PLAN)

        def first_upload_behind():
            fresh = TrainingRun.objects.get(pk=run.pk)
            if fresh.is_terminal:
                pytest.fail(f"run ended as {fresh.status} before the signal: {fresh.error}\n{host_a.log_tail()}")
            first = (fresh.artifacts or {}).get("checkpoint")
            return first if first and fresh.status == JobStatus.RUNNING and fresh.current_step >= first["step"] + 3 \
                else None
        first = _wait_for("no checkpoint uploaded", first_upload_behind, hosts)

        host_a.process.send_signal(signal.SIGTERM)
        try:
            assert host_a.process.wait(timeout=EXIT_GUARD_SECONDS) == 0, host_a.log_tail()
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker still ran {EXIT_GUARD_SECONDS}s after SIGTERM\n{host_a.log_tail()}")

        run.refresh_from_db()
        assert run.status == JobStatus.QUEUED, f"{run.status}: {run.error}\n{host_a.log_tail()}"
        assert run.attempt == 1 and "handed back to the queue" in run.wait_note
        assert TrainingWorker.objects.get(hostname=host_a.hostname).stopped_at is not None
        record = run.artifacts["checkpoint"]
        assert record["step"] > first["step"]
        stopped = [e for e in _events(host_a.root / run.run_dir / "trainer.log") if e["event"] == "stopped"]
        assert [e["step"] for e in stopped] == [record["step"]]
        assert list(MetricPoint.objects.filter(run=run, kind="train").order_by("step").values_list(
            "step", flat=True)) == list(range(1, record["step"] + 1))
        # The latest only: the stop's checkpoint replaced the first one in the store.
        prefix = store_settings["ARTIFACT_STORE_URL"].removeprefix("s3://") + f"/{run.run_dir}/checkpoints"
        stored = server.filesystem().ls(prefix, detail=False, refresh=True)
        assert [entry.rsplit("/", 1)[-1] for entry in stored] == [f"step-{record['step']}"]

        host_b = start_training_host("host-b", tmp_path / "host-b", private_redis.url, "two-hosts", **env)
        hosts.append(host_b)
        assert not (host_b.root / run.run_dir).exists()
        run = _wait_for("the run did not end", lambda: (fresh := TrainingRun.objects.get(pk=run.pk)).is_terminal
                        and fresh, hosts)
        assert run.status == JobStatus.SUCCEEDED, f"{run.error}\n{host_b.log_tail()}"
        assert run.worker == host_b.hostname and run.attempt == 2
        events = _events(host_b.root / run.run_dir / "trainer.log")
        start = next(e for e in events if e["event"] == "start")
        assert start["resumed_from_step"] == record["step"] > 0
        assert next(e for e in events if e["event"] == "metric")["step"] == record["step"] + 1
        points = list(MetricPoint.objects.filter(run=run, kind="train").order_by("step").values_list("step", flat=True))
        assert points == list(range(1, PLAN["max_steps"] + 1))  # contiguous, none twice
        assert run.final_metrics["steps"] == PLAN["max_steps"]
    finally:
        stop_all(hosts)
        client.close()
