import io

import pytest
from django.core.management import CommandError, call_command

from jobs.models import JobStatus
from tests.training.factories import make_snapshot
from training.models import TrainingRun


@pytest.fixture
def fake_trainer(settings, monkeypatch):
    settings.TRAINING_TRAINER_MODULE = "tests.training.fake_trainer"
    settings.TRAINING_BACKEND = "local"
    monkeypatch.setenv("FAKE_TRAINER_MODE", "ok")
    return monkeypatch


@pytest.mark.django_db
def test_train_wait_executes_in_process_and_streams_progress(fake_trainer):
    dataset = make_snapshot()
    out = io.StringIO()
    call_command("train", "--dataset", dataset.sha256[:12], "--base", "org/model", "--backend", "local", "--wait",
                 "--set", "lora_rank=4", "--in-process", stdout=out)
    run = TrainingRun.objects.get()
    lines = out.getvalue().splitlines()
    assert lines[0] == str(run.pk)
    assert run.status == JobStatus.SUCCEEDED and run.hyperparameters["lora_rank"] == 4
    assert "succeeded" in lines[-1]


@pytest.mark.django_db
def test_train_wait_exits_non_zero_when_the_run_fails(fake_trainer):
    fake_trainer.setenv("FAKE_TRAINER_MODE", "crash")
    with pytest.raises(CommandError, match="failed"):
        call_command("train", "--dataset", make_snapshot().sha256, "--base", "org/model", "--wait", "--in-process",
                     stdout=io.StringIO())


@pytest.mark.django_db
def test_train_without_wait_prints_the_run_id_and_leaves_it_queued():
    out = io.StringIO()
    call_command("train", "--dataset", make_snapshot().sha256, "--base", "org/model", stdout=out)
    assert out.getvalue().strip() == str(TrainingRun.objects.get(status=JobStatus.QUEUED).pk)


@pytest.mark.django_db
def test_train_states_what_the_run_needs_and_it_goes_to_that_queue():
    call_command("train", "--dataset", make_snapshot().sha256, "--base", "org/model", "--gpu-memory-gb", "40",
                 "--memory-gb", "64", stdout=io.StringIO())
    run = TrainingRun.objects.get()
    assert run.queue_name == "training.gpu-48g"
    assert run.requirements == {"gpu": True, "gpu_memory_gb": 40, "memory_gb": 64, "backend": "auto"}


@pytest.mark.django_db
def test_train_names_bad_input():
    with pytest.raises(CommandError, match="no unique dataset"):
        call_command("train", "--dataset", "abcdef", stdout=io.StringIO())
    with pytest.raises(CommandError, match="lora_rank"):
        call_command("train", "--dataset", make_snapshot().sha256, "--base", "org/model", "--set", "lora_rank=0",
                     stdout=io.StringIO())


@pytest.mark.django_db
def test_train_wait_says_when_no_worker_takes_the_run_and_ctrl_c_leaves_it_queued(settings, monkeypatch):
    settings.ACADEMY_MODE = "services"
    naps = []

    def interrupted_sleep(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("training.management.commands.train.time.sleep", interrupted_sleep)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("train", "--dataset", make_snapshot().sha256, "--base", "org/model", "--wait",
                     "--notice-after", "0", stdout=out, stderr=err)
    assert exit_info.value.code == 130
    run = TrainingRun.objects.get()
    assert run.status == JobStatus.QUEUED and not run.cancel_requested
    assert out.getvalue().splitlines()[:2] == [str(run.pk), f"[run {run.pk}] queued"]
    notices = [line for line in err.getvalue().splitlines() if "is a worker running for queue" in line]
    assert len(notices) == 1 and "training" in notices[0]
    assert f"[run {run.pk}] stopped following; the run is queued" in err.getvalue()
    assert "Traceback" not in err.getvalue()
