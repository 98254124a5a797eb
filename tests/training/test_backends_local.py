"""The local backend: the trainer as a child process, through execute() as a worker runs it."""

import json
from pathlib import Path

import pytest

from jobs.models import JobStatus
from tests.training.factories import make_snapshot
from training import services
from training.execution import execute
from training.models import MetricPoint, RunLogLine, TrainingRun
from training.trainer.errors import OOM_MESSAGE

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_trainer(settings, monkeypatch):
    """Run FakeTrainer instead of the real one (mechanics only)."""
    settings.TRAINING_TRAINER_MODULE = "tests.training.fake_trainer"
    settings.TRAINING_BACKEND = "local"
    settings.TRAINING_CANCEL_POLL_SECONDS = 0.2
    settings.TRAINING_CANCEL_GRACE_SECONDS = 5
    monkeypatch.setenv("FAKE_TRAINER_MODE", "ok")
    return monkeypatch


def _queued_run(user, **hp):
    return services.start_run(user, dataset=make_snapshot(), base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
                              backend="local", hyperparameters=hp or None)


def test_a_successful_run_records_metrics_checkpoints_and_hashed_adapter_files(bob, fake_trainer, settings):
    run = _queued_run(bob)
    assert execute(run.pk, "w@host") == JobStatus.SUCCEEDED
    run.refresh_from_db()
    assert run.backend == "local" and run.pid and run.exit_code == 0
    assert run.progress == 1.0 and run.current_step == 4 and run.total_steps == 4
    assert set(run.artifacts["adapter"]) == {"adapter_config.json", "adapter_model.safetensors", "academy_adapter.json"}
    assert all(len(h) == 64 for h in run.artifacts["adapter"].values())
    assert run.artifacts["checkpoints"] == [{"step": 4, "path": "checkpoints/step-4"}]
    assert run.final_metrics == {"train_loss": 0.5, "eval_loss": 0.7}
    assert MetricPoint.objects.filter(run=run, kind="train").count() == 4
    assert MetricPoint.objects.filter(run=run, kind="eval").get().loss == 0.7
    assert RunLogLine.objects.filter(run=run, text="FakeTrainer starting").exists()
    spec = json.loads((settings.DATA_DIR / run.run_dir / "spec.json").read_text())
    assert spec["dataset_sha256"] == run.dataset.sha256
    assert (settings.DATA_DIR / run.artifacts["log"]).read_text().count("\n") >= 8


def test_a_crashing_trainer_fails_the_run_with_its_last_lines(bob, fake_trainer):
    fake_trainer.setenv("FAKE_TRAINER_MODE", "crash")
    run = _queued_run(bob)
    assert execute(run.pk, "w@host") == JobStatus.FAILED
    run.refresh_from_db()
    assert run.exit_code == 1
    assert "ValueError: fake crash in the data loader" in run.error
    assert "crashed (exit code 1)" in run.human_error


def test_out_of_memory_gets_the_plain_advice(bob, fake_trainer):
    fake_trainer.setenv("FAKE_TRAINER_MODE", "oom")
    run = _queued_run(bob)
    execute(run.pk, "w@host")
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and run.human_error == OOM_MESSAGE


def test_done_without_adapter_files_is_not_a_success(bob, fake_trainer):
    fake_trainer.setenv("FAKE_TRAINER_MODE", "noadapter")
    run = _queued_run(bob)
    assert execute(run.pk, "w@host") == JobStatus.FAILED
    assert "adapter files missing" in TrainingRun.objects.get(pk=run.pk).error


def test_cancel_stops_the_trainer_process_group(bob, fake_trainer):
    from training.backends.local import wait_gone

    fake_trainer.setenv("FAKE_TRAINER_MODE", "hang")
    run = _queued_run(bob)
    # The cancel arrives while the worker streams: the loop reads the flag on its next poll.
    TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    assert execute(run.pk, "w@host") == JobStatus.CANCELLED
    run.refresh_from_db()
    assert run.exit_code == 143
    assert run.human_error == ""  # the Cancelled status alone says it, once
    assert wait_gone(run.pid, 5)


def test_a_second_delivery_of_the_task_does_nothing(bob, fake_trainer):
    run = _queued_run(bob)
    assert execute(run.pk, "w1@host") == JobStatus.SUCCEEDED
    assert execute(run.pk, "w2@host") is None
    assert TrainingRun.objects.get(pk=run.pk).worker == "w1@host"


def test_docker_requested_without_an_engine_fails_with_a_clear_error(bob, fake_trainer, monkeypatch):
    monkeypatch.setattr("training.backends.docker._ping", lambda: "no Docker engine answers (test)")
    run = services.start_run(bob, dataset=make_snapshot(), base_model="org/model", backend="docker")
    assert execute(run.pk, "w@host") == JobStatus.FAILED
    assert "no Docker engine answers" in TrainingRun.objects.get(pk=run.pk).human_error


def test_docker_down_falls_back_to_local_when_allowed(bob, fake_trainer, monkeypatch, settings):
    monkeypatch.setattr("training.backends.docker._ping", lambda: "no Docker engine answers (test)")
    settings.TRAINING_ALLOW_LOCAL_FALLBACK = True
    run = services.start_run(bob, dataset=make_snapshot(), base_model="org/model", backend="docker")
    assert execute(run.pk, "w@host") == JobStatus.SUCCEEDED
    assert TrainingRun.objects.get(pk=run.pk).backend == "local"


# ------------------------------------------------------------------ the real trainer


@pytest.fixture
def real_trainer(settings):
    from tests.training.trainer_fixtures import toy_model

    model = toy_model()
    settings.TRAINING_BACKEND = "local"
    settings.TRAINING_MODEL_ROOTS = [model.parent]
    settings.ENABLE_GPU = False
    return model


SMALL = {"lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.0, "learning_rate": 0.02, "batch_size": 4,
         "max_seq_length": 64, "eval_every_steps": 4, "logging_every_steps": 1, "max_steps": 8, "seed": 7,
         "early_stopping_patience": 0}


def test_the_real_trainer_trains_the_toy_model_end_to_end(bob, real_trainer, settings):
    run = services.start_run(bob, dataset=make_snapshot(24, eval_every=6), base_model=str(real_trainer),
                             backend="local", hyperparameters=SMALL)
    assert execute(run.pk, "w@host") == JobStatus.SUCCEEDED, TrainingRun.objects.get(pk=run.pk).error
    run.refresh_from_db()
    losses = list(MetricPoint.objects.filter(run=run, kind="train").order_by("step").values_list("loss", flat=True))
    assert len(losses) >= 4
    assert losses[-1] < losses[0]
    assert MetricPoint.objects.filter(run=run, kind="eval").exists()
    assert "adapter_model.safetensors" in run.artifacts["adapter"]
    meta = json.loads((settings.DATA_DIR / run.artifacts["adapter_dir"] / "academy_adapter.json").read_text())
    assert meta["dataset_sha256"] == run.dataset.sha256
    assert run.device.startswith("cpu")


def test_retry_resumes_from_the_last_checkpoint(bob, real_trainer, settings):
    run = services.start_run(bob, dataset=make_snapshot(24, eval_every=6), base_model=str(real_trainer),
                             backend="local", hyperparameters={**SMALL, "max_steps": 2, "save_every_steps": 2})
    assert execute(run.pk, "w@host") == JobStatus.SUCCEEDED
    # Pretend the first attempt died after its checkpoint, with a longer plan: retry picks it up.
    TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.FAILED,
                                                 hyperparameters={**run.hyperparameters, "max_steps": 4})
    run = services.retry_run(TrainingRun.objects.get(pk=run.pk), bob)
    assert execute(run.pk, "w@host") == JobStatus.SUCCEEDED
    run.refresh_from_db()
    assert run.attempt == 2
    log = Path(settings.DATA_DIR / run.artifacts["log"]).read_text()
    assert '"resumed_from_step": 2' in log
    assert MetricPoint.objects.filter(run=run, kind="train", step__gt=2).exists()


def test_protocol_shaped_lines_on_stderr_are_only_log_lines(bob, fake_trainer):
    fake_trainer.setenv("FAKE_TRAINER_MODE", "stderr_events")
    run = _queued_run(bob)
    assert execute(run.pk, "w@host") == JobStatus.SUCCEEDED
    run.refresh_from_db()
    assert not MetricPoint.objects.filter(run=run, step=99).exists()
    assert run.final_metrics == {"train_loss": 0.5, "eval_loss": 0.7} and run.artifacts["adapter"]
    forged = RunLogLine.objects.filter(run=run, text__contains='"step": 99')
    assert forged.count() == 1 and RunLogLine.objects.filter(run=run, text__contains="forged").exists()


def test_per_example_losses_reach_curation_and_are_not_a_log_line(bob, fake_trainer, settings,
                                                                   django_capture_on_commit_callbacks):
    from curation.models import ExampleFeedback

    run = _queued_run(bob)
    with django_capture_on_commit_callbacks(execute=True):
        assert execute(run.pk, "w@host") == JobStatus.SUCCEEDED
    assert not RunLogLine.objects.filter(run=run, text__contains="example_losses").exists()
    stored = ExampleFeedback.objects.filter(source_kind="lesson", train_run_id=run.pk)
    # Only the train split's losses say how a row was learned; eval rows were never trained on.
    rows = [json.loads(line) for line in (settings.DATA_DIR / run.dataset.path).read_text().splitlines()]
    trained = sorted(row["source"]["id"] for row in rows if row.get("split", "train") == "train")
    assert 0 < len(trained) < len(rows)
    assert sorted(stored.values_list("source_id", flat=True)) == trained
