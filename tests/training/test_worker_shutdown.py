"""A worker shutting down mid-run hands the run back with its checkpoint; another host resumes it.

In one process, through execute() as a worker runs it: the real trainer on the toy model, the
artifact store on a real S3 server (moto's), and a second data root standing for the second
host. The shutdown request is the one Celery's SIGTERM handler makes (training.tasks); the
real signal to a real `celery worker` is tests/training/test_worker_sigterm.py.
"""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from artifacts import store
from jobs.models import JobStatus
from tests.s3_server import s3_store  # noqa: F401 (fixture)
from tests.training.factories import make_snapshot
from tests.training.trainer_fixtures import REPO_ROOT, records, toy_model, write_snapshot
from training import services, worker_host
from training.execution import execute
from training.models import MetricPoint, TrainingRun
from training.trainer import checkpoints, stopping

pytestmark = pytest.mark.django_db

PLAN = {"lora_rank": 4, "lora_alpha": 8, "lora_dropout": 0.0, "learning_rate": 0.02, "batch_size": 4,
        "max_seq_length": 64, "num_epochs": 100, "max_steps": 40, "save_every_steps": 1,
        "eval_every_steps": 1000, "logging_every_steps": 1, "seed": 5, "early_stopping_patience": 0}


@pytest.fixture
def no_shutdown():
    worker_host._shutdown.update(requested=False, reason="")
    yield
    worker_host._shutdown.update(requested=False, reason="")


def _events(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith('{"event"')]


@pytest.mark.timeout(600)
def test_a_shutdown_mid_run_hands_it_back_and_another_host_resumes_from_the_uploaded_checkpoint(
        bob, s3_store, settings, tmp_path, no_shutdown, monkeypatch,  # noqa: F811
        django_capture_on_commit_callbacks):
    server, values = s3_store
    settings.TRAINING_BACKEND = "local"
    settings.ENABLE_GPU = False
    settings.TRAINING_CANCEL_POLL_SECONDS = 0.2
    settings.TRAINING_CHECKPOINT_UPLOAD_SECONDS = 3600  # only the first save and the one at the stop go up
    model = settings.DATA_DIR / "models" / "tiny-llama-toy"
    shutil.copytree(toy_model(), model)
    settings.TRAINING_MODEL_ROOTS = [settings.DATA_DIR / "models"]
    dataset = make_snapshot(24, eval_every=6)
    store.publish_file(dataset.path)
    queued = []
    monkeypatch.setattr("jobs.queueing.send", lambda model, pk: queued.append(pk) or True)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_run(bob, dataset=dataset, base_model=str(model), backend="local", hyperparameters=PLAN)
    host_a = settings.DATA_DIR

    def shut_down_after_step_5(event):
        if event["event"] == "metric" and event["step"] >= 5:
            worker_host.request_shutdown("its worker is shutting down (test)")

    with django_capture_on_commit_callbacks(execute=True):
        assert execute(run.pk, "host-a@test", on_event=shut_down_after_step_5) == JobStatus.QUEUED
    run.refresh_from_db()
    assert run.status == JobStatus.QUEUED and run.attempt == 1 and queued == [run.pk, run.pk]
    assert "handed back to the queue" in run.wait_note and "its worker is shutting down (test)" in run.wait_note
    record = run.artifacts["checkpoint"]
    stopped = [e for e in _events(host_a / run.run_dir / "trainer.log") if e["event"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["step"] == record["step"] > 1
    assert f"resumes from its checkpoint at step {record['step']}" in run.wait_note
    steps = list(MetricPoint.objects.filter(run=run, kind="train").order_by("step").values_list("step", flat=True))
    assert steps == list(range(1, record["step"] + 1))
    assert run.current_step == record["step"] and 0 < run.progress < 1

    # Host B: its own data root, nothing of the run in it.
    worker_host._shutdown.update(requested=False, reason="")
    settings.DATA_DIR = tmp_path / "host-b"
    settings.DATA_DIR.mkdir()
    settings.TRAINING_MODEL_ROOTS = [settings.DATA_DIR / "models"]
    assert execute(run.pk, "host-b@test") == JobStatus.SUCCEEDED, TrainingRun.objects.get(pk=run.pk).error
    run.refresh_from_db()
    assert run.attempt == 2 and run.worker == "host-b@test"
    events = _events(settings.DATA_DIR / run.run_dir / "trainer.log")
    start = next(e for e in events if e["event"] == "start")
    assert start["resumed_from_step"] == record["step"]
    assert next(e for e in events if e["event"] == "metric")["step"] == record["step"] + 1
    steps = list(MetricPoint.objects.filter(run=run, kind="train").order_by("step").values_list("step", flat=True))
    assert steps == list(range(1, PLAN["max_steps"] + 1))
    assert run.final_metrics["steps"] == PLAN["max_steps"]
    # Done: the run's checkpoints leave the store.
    assert "checkpoint" not in run.artifacts
    prefix = values["ARTIFACT_STORE_URL"].removeprefix("s3://")
    assert not server.filesystem().exists(f"{prefix}/{run.run_dir}/checkpoints")


@pytest.mark.timeout(300)
def test_the_trainer_stops_on_sigterm_at_a_step_with_a_checkpoint_of_it(tmp_path):
    """What `docker stop` and a cancel send: the trainer process ends with a checkpoint of its last step."""
    dataset = write_snapshot(tmp_path, records("alpaca"))
    spec = {"base_model": str(toy_model()), "dataset_path": str(dataset), "output_dir": str(tmp_path / "run"),
            "device": "cpu", "hyperparameters": {**PLAN, "max_steps": 100000, "save_every_steps": 1000}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    process = subprocess.Popen([sys.executable, "-m", "training.trainer", "--spec", str(tmp_path / "spec.json")],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    events = []
    try:
        for line in process.stdout:
            events.append(json.loads(line))
            if events[-1]["event"] == "metric" and events[-1]["step"] == 3:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.wait() == stopping.EXIT_CODE
    last = events[-1]
    assert last["event"] == "stopped" and last["step"] >= 3
    assert events[-2] == {"event": "checkpoint", "step": last["step"], "path": f"checkpoints/step-{last['step']}"}
    assert [e["step"] for e in events if e["event"] == "metric"] == list(range(1, last["step"] + 1))
    saved = checkpoints.latest(tmp_path / "run")
    assert saved.name == f"step-{last['step']}" and checkpoints.read_state(saved).step == last["step"]
