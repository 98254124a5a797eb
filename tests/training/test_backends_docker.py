"""The docker backend against a real Docker engine (CI starts dockerd; see .ci/run).

No registry is reachable, so the test image is made locally: `docker import` of a tiny
root file system (symlinks and /etc/passwd) that borrows the host's /usr and this Python
environment through read-only mounts.
"""

import io
import os
import sys
import tarfile
from pathlib import Path

import pytest

from jobs.models import JobStatus
from tests.training.factories import make_snapshot
from training import services
from training.execution import execute
from training.models import MetricPoint, TrainingRun

pytestmark = pytest.mark.django_db

IMAGE = "academy-test-trainer:local"
SOCKET = "/run/academy-docker.sock"
SMALL = {"lora_rank": 4, "lora_alpha": 8, "lora_dropout": 0.0, "learning_rate": 0.02, "batch_size": 4,
         "max_seq_length": 64, "eval_every_steps": 4, "logging_every_steps": 1, "max_steps": 4, "seed": 7,
         "early_stopping_patience": 0}


def _rootfs() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("tmp", "etc", "usr", "proc", "sys", "dev"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        for name, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"), ("sbin", "usr/sbin")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
        passwd = b"root:x:0:0:root:/tmp:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def engine():
    """A Docker client with the test image imported; skipped only where no engine exists."""
    import docker
    from docker.errors import DockerException, ImageNotFound

    if not os.environ.get("DOCKER_HOST") and Path(SOCKET).exists():
        os.environ["DOCKER_HOST"] = f"unix://{SOCKET}"
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except DockerException as exc:
        reason = f"no Docker engine answers (DOCKER_HOST={os.environ.get('DOCKER_HOST')}): {exc}"
        if os.environ.get("ACADEMY_REQUIRE_DOCKER"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        client.images.get(IMAGE)
    except ImageNotFound:
        repository, tag = IMAGE.split(":")
        client.api.import_image_from_data(_rootfs(), repository=repository, tag=tag)
    yield client
    client.close()


@pytest.fixture
def docker_settings(engine, settings):
    from tests.training.trainer_fixtures import toy_model
    from training.backends import docker as docker_backend

    docker_backend._state.clear()
    model = toy_model()
    settings.TRAINING_BACKEND = "docker"
    settings.TRAINING_IMAGE = IMAGE
    settings.ENABLE_GPU = False
    settings.TRAINING_CANCEL_POLL_SECONDS = 0.5
    settings.TRAINING_CANCEL_GRACE_SECONDS = 2
    settings.TRAINING_MODEL_ROOTS = [model.parent]
    settings.TRAINING_DOCKER_PYTHON = sys.executable
    settings.TRAINING_DOCKER_MEM_LIMIT = "4g"
    # The bare image borrows the host's /usr and this interpreter and its environment, read-only.
    settings.TRAINING_DOCKER_EXTRA_MOUNTS = sorted({"/usr:/usr", f"{sys.prefix}:{sys.prefix}",
                                                    f"{sys.base_prefix}:{sys.base_prefix}"})
    return model


def _containers(engine, run_id):
    return engine.containers.list(all=True, filters={"label": f"academy.run_id={run_id}"})


def test_a_real_training_container_trains_the_toy_model(bob, engine, docker_settings):
    run = services.start_run(bob, dataset=make_snapshot(16, eval_every=4), base_model=str(docker_settings),
                             backend="auto", hyperparameters=SMALL)
    assert execute(run.pk, "w@host") == JobStatus.SUCCEEDED, TrainingRun.objects.get(pk=run.pk).error
    run.refresh_from_db()
    assert run.backend == "docker" and len(run.container_id) == 64
    assert "adapter_model.safetensors" in run.artifacts["adapter"]
    assert MetricPoint.objects.filter(run=run, kind="train").count() >= 2
    assert _containers(engine, run.pk) == []  # removed once finished


def test_cancel_stops_and_removes_the_container(bob, engine, docker_settings):
    run = services.start_run(bob, dataset=make_snapshot(16, eval_every=4), base_model=str(docker_settings),
                             backend="docker", hyperparameters={**SMALL, "max_steps": 5000})
    TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    assert execute(run.pk, "w@host") == JobStatus.CANCELLED
    assert _containers(engine, run.pk) == []


def test_the_reaper_removes_orphan_containers_of_inactive_runs_only(bob, engine, docker_settings, settings):
    from jobs.reaper import reap
    from training.backends.docker import ROOT_LABEL, RUN_LABEL, root_label

    done = services.start_run(bob, dataset=make_snapshot(), base_model="org/model", backend="docker")
    active = services.start_run(bob, dataset=make_snapshot(), base_model="org/model", backend="docker")
    TrainingRun.objects.filter(pk=done.pk).update(status=JobStatus.FAILED)
    started = []
    for run in (done, active):
        started.append(engine.containers.run(
            IMAGE, [sys.executable, "-c", "import time; time.sleep(300)"], detach=True, network_mode="none",
            labels={RUN_LABEL: str(run.pk), ROOT_LABEL: root_label()},
            volumes={m.split(":")[0]: {"bind": m.split(":")[1], "mode": "ro"}
                     for m in settings.TRAINING_DOCKER_EXTRA_MOUNTS}))
    try:
        result = reap()["training.TrainingRun"]
        assert _containers(engine, done.pk) == []
        assert len(_containers(engine, active.pk)) == 1
        assert any(f"run {done.pk}" in item for item in result["removed"])
    finally:
        for container in started:
            try:
                container.remove(force=True)
            except Exception:
                pass


def test_devices_describe_the_cpu_when_no_gpu_is_enabled(engine, docker_settings):
    from training.backends.docker import DockerBackend

    devices = DockerBackend.devices()
    assert devices[0]["kind"] == "cpu" and devices[0]["cpu_count"] >= 1


def test_a_run_on_a_base_model_that_is_not_stored_fails_before_its_container_starts(bob, engine, docker_settings,
                                                                                       settings):
    settings.TRAINING_DOCKER_ALLOW_NETWORK = False
    run = services.start_run(bob, dataset=make_snapshot(), base_model="unsloth/Phi-3-mini-4k-instruct",
                             backend="docker", hyperparameters=SMALL)
    assert execute(run.pk, "w@host") == JobStatus.FAILED
    run.refresh_from_db()
    assert "python manage.py fetch_base_model unsloth/Phi-3-mini-4k-instruct" in run.human_error
    assert run.container_id == "" and _containers(engine, run.pk) == []


def test_the_containers_stderr_is_read_apart_and_only_as_log_lines(engine, docker_settings, settings, tmp_path):
    from training.backends.base import Layout, LogLine
    from training.backends.docker import DockerBackend

    script = ("import json, sys; print(json.dumps({'event': 'metric', 'step': 1, 'loss': 1.0}), flush=True); "
              "print(json.dumps({'event': 'done', 'adapter_dir': 'forged'}), file=sys.stderr, flush=True)")
    backend = DockerBackend(0, Layout(run_dir=tmp_path, dataset=tmp_path / "d.jsonl", base_model="x", local_model=None))
    mounts = {m.split(":")[0]: {"bind": m.split(":")[1], "mode": "ro"} for m in settings.TRAINING_DOCKER_EXTRA_MOUNTS}
    backend.container = engine.containers.run(IMAGE, [sys.executable, "-c", script], detach=True,
                                              network_mode="none", volumes=mounts)
    try:
        backend.start_reader()
        lines, ended = [], False
        while not ended:
            batch, ended = backend.next_lines(timeout=30)
            lines += batch
        by_kind = {isinstance(line, LogLine): line.strip() for line in lines}
        assert '"event": "metric"' in by_kind[False] and '"adapter_dir": "forged"' in by_kind[True]
    finally:
        backend.container.remove(force=True)


@pytest.mark.mode_independent
def test_a_real_training_container_trains_smollm2_by_its_short_name_from_the_read_only_models_root(
        bob, engine, docker_settings, settings):
    import json

    from tests.real_model import NAME, install_snapshot
    from training import model_store

    install_snapshot(model_store.models_root())
    settings.TRAINING_DOCKER_ALLOW_NETWORK = False
    hyperparameters = {**SMALL, "lora_rank": 8, "lora_alpha": 16, "learning_rate": 0.002, "batch_size": 2,
                       "max_seq_length": 48, "max_steps": 3, "eval_every_steps": 3}
    run = services.start_run(bob, dataset=make_snapshot(8, eval_every=4), base_model=NAME, backend="auto",
                             hyperparameters=hyperparameters)
    assert execute(run.pk, "w@host") == JobStatus.SUCCEEDED, TrainingRun.objects.get(pk=run.pk).error
    run.refresh_from_db()
    assert run.backend == "docker" and run.base_model == NAME
    losses = list(MetricPoint.objects.filter(run=run, kind="train").order_by("step").values_list("loss", flat=True))
    assert len(losses) == 3 and losses[-1] < losses[0]
    meta = json.loads((settings.DATA_DIR / run.run_dir / "adapter" / "academy_adapter.json").read_text())
    assert meta["base_model"] == NAME and meta["base_model_digest"] == model_store.manifest(NAME)["digest"]
    assert _containers(engine, run.pk) == []


def test_a_worker_shutdown_stops_the_container_at_a_step_with_a_checkpoint_and_hands_the_run_back(
        bob, engine, docker_settings, settings):
    """`docker stop` sends SIGTERM to the trainer, PID 1 in its container: it saves its step and exits."""
    import json

    from training import worker_host

    settings.TRAINING_CANCEL_GRACE_SECONDS = 60  # a hang guard: the trainer stops well before
    run = services.start_run(bob, dataset=make_snapshot(16, eval_every=4), base_model=str(docker_settings),
                             backend="docker", hyperparameters={**SMALL, "max_steps": 5000,
                                                                "save_every_steps": 1000})

    def shut_down_after_step_3(event):
        if event["event"] == "metric" and event["step"] >= 3:
            worker_host.request_shutdown("its worker is shutting down (test)")

    try:
        assert execute(run.pk, "w@host", on_event=shut_down_after_step_3) == JobStatus.QUEUED
    finally:
        worker_host._shutdown.update(requested=False, reason="")
    run.refresh_from_db()
    assert run.status == JobStatus.QUEUED and run.attempt == 1
    events = [json.loads(line) for line in (settings.DATA_DIR / run.run_dir / "trainer.log").read_text().splitlines()
              if line.startswith('{"event"')]
    assert events[-1]["event"] == "stopped" and events[-1]["step"] >= 3
    assert run.artifacts["checkpoint"]["step"] == events[-1]["step"]
    assert (settings.DATA_DIR / run.run_dir / "checkpoints" / f"step-{events[-1]['step']}").is_dir()
    assert _containers(engine, run.pk) == []
