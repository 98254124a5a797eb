"""Training workers on their own host: capability queues, a clean row at start and stop, own orphans reaped."""

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery import Celery
from django.core.exceptions import ValidationError

from jobs.models import JobStatus
from tests.training.factories import make_snapshot
from training import capabilities, services, tasks, worker_host
from training.backends.local import wait_gone
from training.models import TrainingRun, TrainingWorker
from training.workers import online_workers

pytestmark = pytest.mark.django_db

CPU_ONLY = [{"kind": "cpu", "name": "CPU", "cpu_count": 2, "memory_total_mb": 4096, "label": "cpu"}]
GPU_24G = [{"kind": "gpu", "index": 0, "name": "NVIDIA RTX 4090", "memory_total_mb": 24564, "label": "cuda:0"},
           *CPU_ONLY]


@pytest.fixture
def host(monkeypatch):
    """What worker_host sees of this machine, set per test; forgotten afterwards."""
    found = {"devices": CPU_ONLY, "backends": ["local"]}
    monkeypatch.setattr(worker_host, "devices_and_backends", lambda: (found["devices"], found["backends"]))
    monkeypatch.setattr(worker_host, "_host", {})
    monkeypatch.setattr(worker_host, "_start_reporting", lambda hostname, queues: SimpleNamespace(set=lambda: None))
    return found


def _worker(hostname: str, queues: list[str]):
    app = Celery(set_as_current=False)
    app.amqp.queues.select(queues)
    return SimpleNamespace(hostname=hostname, app=app)


def _consumed(worker) -> set[str]:
    return set(worker_host.consumed_queues(worker))


def test_a_cpu_only_worker_takes_the_cpu_queue_and_never_a_gpu_queue(host):
    worker = _worker("cpu@h", ["training"])
    worker_host.on_start(worker)
    assert _consumed(worker) == {"training", "training.cpu"}
    assert set(TrainingWorker.objects.get(hostname="cpu@h").queues) == _consumed(worker)


def test_a_24_gb_gpu_worker_with_docker_takes_every_class_it_holds(host):
    host.update(devices=GPU_24G, backends=["local", "docker"])
    worker = _worker("gpu@h", ["training"])
    worker_host.on_start(worker)
    assert _consumed(worker) == {"training", "training.cpu", "training.gpu", "training.gpu-24g", "training.cpu.docker",
                                 "training.gpu.docker", "training.gpu-24g.docker"}


def test_a_default_queue_worker_is_left_alone(host):
    worker = _worker("default@h", ["default"])
    worker_host.on_start(worker)
    assert _consumed(worker) == {"default"}
    assert not TrainingWorker.objects.exists()


def test_a_restarted_worker_has_no_current_run_and_a_clean_stop_is_offline_at_once(host, bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model="org/model", backend="local")
    TrainingWorker.objects.create(hostname="gpu0@h", current_run=run, queues=["training"])
    worker = _worker("gpu0@h", ["training"])
    worker_host.on_start(worker)
    row = TrainingWorker.objects.get(hostname="gpu0@h")
    assert row.current_run is None and row.stopped_at is None
    assert list(online_workers()) == [row]
    worker_host.on_stop(worker)
    assert TrainingWorker.objects.get(hostname="gpu0@h").stopped_at is not None
    assert not online_workers().exists()


def test_runs_state_their_needs_and_go_to_the_queue_of_their_class(bob):
    dataset = make_snapshot()
    cpu = services.start_run(bob, dataset=dataset, base_model="org/model")
    gpu = services.start_run(bob, dataset=dataset, base_model="org/model", backend="docker",
                             requirements={"gpu_memory_gb": 20, "memory_gb": 32})
    assert (cpu.queue_name, TrainingRun.queue_for(cpu.pk)) == ("training.cpu", "training.cpu")
    assert gpu.queue_name == "training.gpu-24g.docker"
    assert gpu.requirements == {"gpu": True, "gpu_memory_gb": 20, "memory_gb": 32, "backend": "docker"}
    with pytest.raises(ValidationError) as error:
        services.start_run(bob, dataset=dataset, base_model="org/model", requirements={"gpu_memory_gb": 200})
    assert "gpu_memory_gb" in error.value.message_dict
    assert TrainingRun.objects.count() == 2


def test_the_workers_that_can_take_a_run_are_those_with_what_it_needs():
    cpu_box = SimpleNamespace(hostname="cpu@h", devices=CPU_ONLY, backends=["local"])
    gpu_box = SimpleNamespace(hostname="gpu@h", devices=GPU_24G, backends=["local", "docker"])
    needs = capabilities.parse_requirements
    assert capabilities.capable_workers(needs({}), [cpu_box, gpu_box]) == [cpu_box, gpu_box]
    assert capabilities.capable_workers(needs({"gpu": True}), [cpu_box, gpu_box]) == [gpu_box]
    assert capabilities.capable_workers(needs({"gpu_memory_gb": 40}), [cpu_box, gpu_box]) == []
    assert capabilities.capable_workers(needs({"memory_gb": 8}), [cpu_box, gpu_box]) == []
    assert capabilities.capable_workers(needs({}, backend="docker"), [cpu_box, gpu_box]) == [gpu_box]


def test_a_worker_leaves_a_run_it_cannot_take_queued(host, bob):
    worker_host.on_start(_worker("cpu@h", ["training"]))
    run = services.start_run(bob, dataset=make_snapshot(), base_model="org/model", requirements={"gpu": True})
    assert tasks.execute_run.run(run.pk) is None
    run.refresh_from_db()
    assert run.status == JobStatus.QUEUED and run.worker == ""


def _fake_trainer(settings, run_id: int) -> subprocess.Popen:
    """A process that looks like a run's trainer to the local backend's reaper (module and spec in argv)."""
    spec = settings.DATA_DIR / "runs" / str(run_id) / "spec.json"
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                                settings.TRAINING_TRAINER_MODULE, "--spec", str(spec)], start_new_session=True)
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    deadline = time.monotonic() + 10
    while b"--spec" not in cmdline.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)  # the exec has not finished replacing the forked copy's arguments yet
    return process


def test_a_restarted_worker_ends_the_trainers_its_previous_life_left_and_keeps_other_workers_runs(
        host, bob, settings):
    dataset = make_snapshot()
    mine = services.start_run(bob, dataset=dataset, base_model="org/model", backend="local")
    theirs = services.start_run(bob, dataset=dataset, base_model="org/model", backend="local")
    finished = services.start_run(bob, dataset=dataset, base_model="org/model", backend="local")
    services.claim_run(mine.pk, "gpu0@h")
    services.claim_run(theirs.pk, "gpu1@h")
    TrainingRun.objects.filter(pk=finished.pk).update(status=JobStatus.FAILED)
    trainers = {run.pk: _fake_trainer(settings, run.pk) for run in (mine, theirs, finished)}
    try:
        assert worker_host.reap_orphans("gpu0@h") == [f"pid {trainers[finished.pk].pid} (run {finished.pk})"]
        worker_host.on_start(_worker("gpu0@h", ["training"]))
        assert wait_gone(trainers[finished.pk].pid, 30) and wait_gone(trainers[mine.pk].pid, 30)
        assert trainers[theirs.pk].poll() is None
    finally:
        for process in trainers.values():
            process.kill()
            process.wait()
