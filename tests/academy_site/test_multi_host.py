"""The whole loop on several hosts that share no folder: train on one, evaluate on another,
promote from web, serve from a third process; then SIGTERM a worker mid-run and the other
host resumes the run from its checkpoint, losing no chart point.

Real processes, each with its own data root: `celery worker` processes for training hosts A
and B, this test process as web, and `manage.py serve` as the serving host; a private
redis-server as broker, a real S3 server (moto's) as the artifact store, PostgreSQL as the
one thing they share with the database. Only the artifact store carries the base model, the
dataset snapshot, the adapter and the checkpoints between them, each file checked against
its sha256.
"""

import json
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from celery import Celery
from django.test import Client

from accounts.services import create_api_token
from arena import services as arena
from arena.models import Evaluation
from artifacts import store
from jobs.models import JobStatus
from models_registry.models import ModelVersion, VersionStatus
from tests.academy_server import free_port
from tests.arena.factories import make_exam
from tests.celery_workers import (
    Process,
    needs_postgres,
    process_env,
    start_process,
    start_training_host,
    stop_all,
    wait_until_consuming,
)
from tests.redis_server import private_redis  # noqa: F401 (fixture)
from tests.s3_server import s3_store  # noqa: F401 (fixture)
from tests.training.factories import make_snapshot
from tests.training.trainer_fixtures import toy_model
from training import model_store, services
from training.models import MetricPoint, TrainingRun

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]

PLAN = {"lora_rank": 4, "lora_alpha": 8, "lora_dropout": 0.0, "learning_rate": 0.02, "batch_size": 4,
        "max_seq_length": 64, "num_epochs": 1, "max_steps": 4, "save_every_steps": 1000,
        "eval_every_steps": 1000, "logging_every_steps": 1, "seed": 3, "early_stopping_patience": 0,
        "model_line": "fleet"}
# Long enough to be mid-run when the signal comes (a checkpoint at every step), short enough to end soon.
LONG_PLAN = {**PLAN, "num_epochs": 1000, "max_steps": 60, "save_every_steps": 1, "seed": 11}
BASE = "toy-fleet"  # the toy model stored by short name, so no host path is ever recorded
WAIT_SECONDS = 300


def _env(store_settings: dict) -> dict:
    return dict(SECRET_KEY="multi-host-test", STATIC_MANIFEST="false", LOG_LEVEL="WARNING", ARENA_MAX_NEW_TOKENS="8",
                ARENA_BATCH_SIZE="4", ARENA_BOOTSTRAP_SAMPLES="200",
                # Only the first checkpoint goes up while it trains: a resume is from the one saved at the stop.
                TRAINING_CHECKPOINT_UPLOAD_SECONDS="3600", **store_settings)


def _training_host(name: str, root: Path, redis_url: str, store_settings: dict, client: Celery) -> Process:
    host = start_training_host(name, root, redis_url, "multi-host", **_env(store_settings))
    wait_until_consuming(client, [host])
    return host


def _serving_host(root: Path, redis_url: str, store_settings: dict) -> tuple[Process, str]:
    port = free_port()
    host = start_process("serving", root, [sys.executable, "manage.py", "serve", "--port", str(port)],
                         process_env(data_dir=root, redis_url=redis_url, **_env(store_settings)))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and host.process.poll() is None:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return host, base
        except OSError:
            time.sleep(0.3)
    host.stop()
    pytest.fail(f"the serving process did not start\n{host.log_tail()}")


def _wait_for(what: str, check, hosts: list[Process]):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"{what} after {WAIT_SECONDS}s\n" + "\n".join(f"--- {h.name}\n{h.log_tail()}" for h in hosts))


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith('{"event"')]


def _hashes_under(root: Path, key: str) -> dict:
    folder = root / key
    return store.folder_hashes(folder) if folder.is_dir() else {}


@pytest.mark.timeout(900)
def test_train_on_a_evaluate_on_b_promote_from_web_serve_from_a_third_process_and_resume_after_sigterm(
        alice, bob, private_redis, s3_store, settings, tmp_path, monkeypatch):  # noqa: F811
    _server, store_settings = s3_store
    client = Celery(broker=private_redis.url, set_as_current=False)
    # Web sends jobs to the private broker, each to its own queue (as jobs.queueing does with REDIS_URL).
    monkeypatch.setattr("jobs.queueing.send", lambda model_cls, pk: client.send_task(
        model_cls.task_name, args=[pk], queue=model_cls.queue_for(pk)))
    web = Path(settings.DATA_DIR).resolve()
    # What web has: the toy base model stored by short name, and a dataset snapshot it built.
    folder = model_store.stored_path(BASE)
    shutil.copytree(toy_model(), folder)
    digest = model_store.write_manifest(folder, model_id=BASE, revision=None)["digest"]
    dataset = make_snapshot(24, eval_every=6)
    store.publish_file(dataset.path)
    running: list[Process] = []
    try:
        # 1. Train on host A (the only training host online).
        host_a = _training_host("host-a", tmp_path / "host-a", private_redis.url, store_settings, client)
        running.append(host_a)
        run = services.start_run(bob, dataset=dataset, base_model=BASE, backend="local", hyperparameters=PLAN)
        run = _wait_for("the run did not finish", lambda: (lambda r: r if r.is_terminal else None)(
            TrainingRun.objects.get(pk=run.pk)), running)
        assert run.status == JobStatus.SUCCEEDED and run.worker == host_a.hostname, f"{run.error}\n{host_a.log_tail()}"
        version = _wait_for("the run's version was not registered",
                            lambda: ModelVersion.objects.select_related("line").filter(training_run=run).first(),
                            running)
        # Named by identity, never by a host path; the adapter is in the store, recorded by its hashes.
        assert version.base_model == BASE and version.metrics["base_model"] == {"name": BASE, "digest": digest}
        assert version.adapter_files == run.artifacts["adapter"]
        assert not (web / version.adapter_dir).exists()
        assert host_a.stop() == 0, host_a.log_tail()
        running.remove(host_a)

        # 2. Evaluate on host B, whose data root holds neither the base model, the snapshot nor the adapter.
        host_b = _training_host("host-b", tmp_path / "host-b", private_redis.url, store_settings, client)
        running.append(host_b)
        assert not (host_b.root / "models").exists() and not (host_b.root / version.adapter_dir).exists()
        line = version.line
        make_exam(line, count=6)
        evaluation = arena.start_evaluation(line, version, requested_by=bob)
        evaluation = _wait_for("the evaluation did not finish", lambda: (lambda e: e if e.is_terminal else None)(
            Evaluation.objects.get(pk=evaluation.pk)), running)
        assert evaluation.status == "succeeded", f"{evaluation.error[-3000:]}\n{host_b.log_tail()}"
        assert evaluation.worker == host_b.hostname and evaluation.decision
        assert _hashes_under(host_b.root, version.adapter_dir) == version.adapter_files
        assert _hashes_under(host_b.root, f"models/{BASE}") == run.artifacts["base_model"]["files"]

        # 3. Promote from web (the API, as an admin's tool would): web fetches and checks the adapter.
        _, admin_token = create_api_token(alice, name="web", role="Admin")
        answer = Client().post(f"/api/v1/lines/{line.name}/versions/{version.label}/promote",
                               data=json.dumps({"reason": "judged on host B"}), content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {admin_token}")
        assert answer.status_code == 200, answer.content
        version.refresh_from_db()
        assert version.status == VersionStatus.ACTIVE
        assert _hashes_under(web, version.adapter_dir) == version.adapter_files

        # 4. Serve from a third process with its own empty data root: /v1 answers with the promoted version.
        serving, base_url = _serving_host(tmp_path / "serving", private_redis.url, store_settings)
        running.append(serving)
        _, agent_token = create_api_token(alice, name="agent", role="Viewer")
        request = urllib.request.Request(
            f"{base_url}/v1/chat/completions", method="POST",
            data=json.dumps({"model": line.name, "max_tokens": 6,
                             "messages": [{"role": "user", "content": "Say which colour item 1 has."}]}).encode(),
            headers={"Authorization": f"Bearer {agent_token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                completion = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            pytest.fail(f"/v1 answered {exc.code}: {exc.read()[:2000]!r}\n{serving.log_tail()}")
        assert completion["system_fingerprint"] == f"{line.name}:{version.label}"
        assert isinstance(completion["choices"][0]["message"]["content"], str)
        assert _hashes_under(serving.root, version.adapter_dir) == version.adapter_files
        assert _hashes_under(serving.root, f"models/{BASE}") == run.artifacts["base_model"]["files"]
        serving.stop()
        running.remove(serving)

        # 5. Host A comes back beside B. SIGTERM the one that takes the next run, mid-run: it hands the run
        #    back with its checkpoint in the store, and the other resumes it there, losing no chart point.
        running.append(_training_host("host-a", tmp_path / "host-a", private_redis.url, store_settings,
                                      client))
        long_run = services.start_run(bob, dataset=dataset, base_model=BASE, backend="local",
                                      hyperparameters=LONG_PLAN)

        def mid_run():
            fresh = TrainingRun.objects.get(pk=long_run.pk)
            assert not fresh.is_terminal, f"{fresh.status} before the signal: {fresh.error}"
            first = (fresh.artifacts or {}).get("checkpoint")
            return fresh if first and fresh.status == JobStatus.RUNNING and fresh.current_step >= first["step"] + 3 \
                else None
        stopped_on = next(h for h in running if h.hostname == _wait_for("no checkpoint uploaded", mid_run,
                                                                          running).worker)
        resumed_on = next(h for h in running if h is not stopped_on)
        assert stopped_on.stop() == 0, stopped_on.log_tail()  # SIGTERM: within a step, not at the run's end
        running.remove(stopped_on)
        long_run = _wait_for("the resumed run did not finish", lambda: (lambda r: r if r.is_terminal else None)(
            TrainingRun.objects.get(pk=long_run.pk)), running)
        assert long_run.status == JobStatus.SUCCEEDED, f"{long_run.error}\n{resumed_on.log_tail()}"
        assert long_run.worker == resumed_on.hostname and long_run.attempt == 2
        stop = [e for e in _events(stopped_on.root / long_run.run_dir / "trainer.log") if e["event"] == "stopped"]
        start = next(e for e in _events(resumed_on.root / long_run.run_dir / "trainer.log") if e["event"] == "start")
        assert len(stop) == 1 and start["resumed_from_step"] == stop[0]["step"] > 0
        points = MetricPoint.objects.filter(run=long_run, kind="train").order_by("step").values_list("step", flat=True)
        assert list(points) == list(range(1, LONG_PLAN["max_steps"] + 1))  # contiguous, none twice
    finally:
        stop_all(running)
        client.close()
