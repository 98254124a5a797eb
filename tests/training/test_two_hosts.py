"""Two training hosts with their own data roots and no shared folder, through the artifact store.

Real `celery worker` processes (one per "host", each with its own ACADEMY_DATA_DIR) on a
private redis-server, a real S3 server (moto's) as the artifact store, the real trainer on
the toy model. They share only the database, so this needs PostgreSQL.
"""

import shutil
import signal
import time

import pytest
import redis
from celery import Celery

from artifacts import store
from jobs.models import JobStatus
from tests.celery_workers import needs_postgres, start_training_host, stop_all, wait_until_consuming
from tests.redis_server import private_redis  # noqa: F401 (fixture)
from tests.s3_server import s3_store  # noqa: F401 (fixture)
from tests.training.factories import make_snapshot
from tests.training.trainer_fixtures import toy_model
from training import services
from training.models import TrainingRun, TrainingWorker
from training.workers import online_workers

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]

PLAN = {"lora_rank": 4, "lora_alpha": 8, "lora_dropout": 0.0, "learning_rate": 0.02, "batch_size": 4,
        "max_seq_length": 64, "num_epochs": 1, "max_steps": 4, "save_every_steps": 1000,
        "eval_every_steps": 1000, "logging_every_steps": 1, "seed": 3, "early_stopping_patience": 0}
WAIT_SECONDS = 300


@pytest.fixture
def two_hosts(private_redis, s3_store, tmp_path):  # noqa: F811
    _server, store_settings = s3_store
    hosts = [start_training_host(name, tmp_path / name, private_redis.url, "two-hosts", **store_settings)
             for name in ("host-a", "host-b")]
    client = Celery(broker=private_redis.url, set_as_current=False)
    try:
        wait_until_consuming(client, hosts)
        yield hosts, client
    finally:
        stop_all(hosts)
        client.close()


def _wait_until_finished(runs: list[TrainingRun], hosts: list) -> list[TrainingRun]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        fresh = [TrainingRun.objects.get(pk=run.pk) for run in runs]
        if all(run.is_terminal for run in fresh):
            return fresh
        time.sleep(0.5)
    pytest.fail(f"runs not finished after {WAIT_SECONDS}s: {[r.status for r in fresh]}\n"
                + "\n".join(h.log_tail() for h in hosts))


@pytest.mark.timeout(600)
def test_two_hosts_without_a_shared_folder_run_two_runs_at_once_and_a_gpu_run_waits_for_a_gpu_worker(
        bob, two_hosts, private_redis, settings, monkeypatch):  # noqa: F811
    hosts, client = two_hosts
    # What the web host has: the toy base model and a dataset snapshot under its own data root.
    model = settings.DATA_DIR / "models" / "tiny-llama-toy"
    shutil.copytree(toy_model(), model)
    settings.TRAINING_MODEL_ROOTS = [settings.DATA_DIR / "models"]
    dataset = make_snapshot(24, eval_every=6)
    store.publish_file(dataset.path)  # as a dataset build does
    # The web host sends to the private broker, each run to its own capability queue.
    monkeypatch.setattr("jobs.queueing.send", lambda model_cls, pk: client.send_task(
        model_cls.task_name, args=[pk], queue=model_cls.queue_for(pk)))

    runs = [services.start_run(bob, dataset=dataset, base_model=str(model), backend="local", hyperparameters=PLAN)
            for _ in range(2)]
    gpu_run = services.start_run(bob, dataset=dataset, base_model=str(model), backend="local",
                                 hyperparameters=PLAN, requirements={"gpu": True})
    assert [run.queue_name for run in runs] == ["training.cpu", "training.cpu"] and gpu_run.queue_name == "training.gpu"

    runs = _wait_until_finished(runs, hosts)
    for run in runs:
        assert run.status == JobStatus.SUCCEEDED, f"{run.error}\n" + "\n".join(h.log_tail() for h in hosts)
    # One run per host, at the same time.
    by_host = {host.hostname: host for host in hosts}
    assert {run.worker for run in runs} == set(by_host)
    first, second = runs
    assert first.started_at < second.finished_at and second.started_at < first.finished_at
    for run in runs:
        mine, other = by_host[run.worker], next(h for h in hosts if h.hostname != run.worker)
        # Each host fetched the base model and the snapshot into its own root and wrote only there.
        assert (mine.root / "models" / "tiny-llama-toy" / "config.json").is_file()
        assert (mine.root / dataset.path).is_file()
        assert (mine.root / run.run_dir / "adapter" / "adapter_model.safetensors").is_file()
        assert not (other.root / run.run_dir).exists()
        # The web host gets the adapter from the store, verified file by file.
        adapter = store.fetch_folder(run.artifacts["adapter_dir"], run.artifacts["adapter"])
        assert adapter.is_relative_to(settings.DATA_DIR.resolve())
        assert store.folder_hashes(adapter) == run.artifacts["adapter"]

    # No CPU-only worker took the GPU-sized run: it still waits on its queue.
    assert TrainingRun.objects.get(pk=gpu_run.pk).status == JobStatus.QUEUED
    assert redis.Redis.from_url(private_redis.url).llen("training.gpu") == 1
    for row in TrainingWorker.objects.filter(hostname__in=by_host):
        assert "training.cpu" in row.queues and not any(q.startswith("training.gpu") for q in row.queues)

    # A clean stop (SIGTERM: Celery's warm shutdown) takes a worker off "Workers online" at once.
    stopping = hosts[0]
    assert stopping.hostname in {worker.hostname for worker in online_workers()}
    stopping.process.send_signal(signal.SIGTERM)
    assert stopping.process.wait(timeout=60) == 0, stopping.log_tail()
    assert TrainingWorker.objects.get(hostname=stopping.hostname).stopped_at is not None
    assert stopping.hostname not in {worker.hostname for worker in online_workers()}
