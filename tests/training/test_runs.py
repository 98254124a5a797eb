import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from jobs.lifecycle import JobRefused
from jobs.models import JobStatus
from tests.training.factories import make_snapshot
from training import services
from training.models import TrainingRun
from training.services.hooks import call_succeeded_hooks

pytestmark = pytest.mark.django_db

HF_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_start_run_creates_a_queued_run_with_defaults_and_queues_execution(bob, settings, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr("jobs.queueing.send", lambda model, pk: queued.append(pk) or True)
    settings.DEFAULT_LORA_RANK = 4
    dataset = make_snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_run(bob, dataset=dataset, base_model=HF_MODEL)
    assert run.status == JobStatus.QUEUED
    assert run.hyperparameters["lora_rank"] == 4
    assert run.hyperparameters["learning_rate"] == settings.DEFAULT_LEARNING_RATE
    assert run.run_dir == f"runs/{run.pk}"
    assert queued == [run.pk]


def test_it_rejects_outsider_and_reviewer(dave, carol):
    dataset = make_snapshot()
    for user in (dave, carol):
        with pytest.raises(PermissionDenied):
            services.start_run(user, dataset=dataset, base_model=HF_MODEL)
    assert not TrainingRun.objects.exists()


def test_invalid_hyperparameters_name_each_field_and_its_range(bob):
    dataset = make_snapshot()
    with pytest.raises(ValidationError) as info:
        services.start_run(bob, dataset=dataset, base_model=HF_MODEL,
                           hyperparameters={"lora_rank": 0, "learning_rate": 5, "batch_size": "many", "colour": 1})
    errors = info.value.message_dict
    assert "lora_rank: 0 is out of range [1, 1024]" in errors["lora_rank"]
    assert "out of range [1e-08, 1.0]" in errors["learning_rate"][0]
    assert "must be an integer" in errors["batch_size"][0]
    assert "unknown hyperparameter" in errors["colour"][0]
    assert not TrainingRun.objects.exists()


def test_a_dataset_whose_file_does_not_match_its_hash_is_refused(bob, settings):
    dataset = make_snapshot()
    (settings.DATA_DIR / dataset.path).write_text('{"instruction": "tampered"}\n')
    with pytest.raises(ValidationError, match="does not match its hash"):
        services.start_run(bob, dataset=dataset, base_model=HF_MODEL)
    assert not TrainingRun.objects.exists()


def test_a_missing_dataset_file_is_refused(bob, settings):
    dataset = make_snapshot()
    (settings.DATA_DIR / dataset.path).unlink()
    with pytest.raises(ValidationError, match="missing"):
        services.start_run(bob, dataset=dataset, base_model=HF_MODEL)


def test_a_local_base_model_outside_the_model_roots_is_refused(bob):
    with pytest.raises(ValidationError, match="base_model"):
        services.start_run(bob, dataset=make_snapshot(), base_model="/etc")


def test_model_line_is_kept_with_the_run_but_checked(bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=HF_MODEL, hyperparameters={"model_line": "ops"})
    assert run.hyperparameters["model_line"] == "ops"
    with pytest.raises(ValidationError, match="model_line"):
        services.start_run(bob, dataset=make_snapshot(), base_model=HF_MODEL, hyperparameters={"model_line": ""})


def test_cancelling_a_queued_run_cancels_it_at_once(bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=HF_MODEL)
    run = services.cancel_run(run, bob)
    assert run.status == JobStatus.CANCELLED
    assert services.claim_run(run.pk, "w@host") is None


def test_cancelling_a_running_run_flags_it_for_its_worker(bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=HF_MODEL)
    TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.RUNNING)
    run = services.cancel_run(run, bob)
    assert run.status == JobStatus.RUNNING and run.cancel_requested


def test_a_finished_run_cannot_be_cancelled(bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=HF_MODEL)
    TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.SUCCEEDED)
    with pytest.raises(JobRefused, match="succeeded"):
        services.cancel_run(run, bob)


def test_only_one_worker_claims_a_run(bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=HF_MODEL)
    first = services.claim_run(run.pk, "w1@host")
    second = services.claim_run(run.pk, "w2@host")
    assert first is not None and first.status == JobStatus.PREPARING and first.attempt == 1
    assert second is None
    assert TrainingRun.objects.get(pk=run.pk).worker == "w1@host"


def test_retry_requeues_failed_and_lost_runs_only(bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=HF_MODEL)
    with pytest.raises(JobRefused):
        services.retry_run(run, bob)
    TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.LOST, error="x", human_error="lost")
    run = services.retry_run(run, bob)
    assert run.status == JobStatus.QUEUED and run.error == "" and run.human_error == ""


def test_success_hooks_get_the_run_and_one_failing_hook_does_not_stop_others(bob, monkeypatch):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=HF_MODEL)
    seen = []

    def broken(_run):
        raise RuntimeError("boom")

    monkeypatch.setattr(services.hooks, "on_run_succeeded", [broken, lambda r: seen.append(r.pk)])
    call_succeeded_hooks(run.pk)
    assert seen == [run.pk]


def test_finishing_successfully_fires_the_hooks_after_commit(bob, monkeypatch, django_capture_on_commit_callbacks):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=HF_MODEL)
    services.claim_run(run.pk, "w@host")
    seen = []
    monkeypatch.setattr(services.hooks, "on_run_succeeded", [lambda r: seen.append(r.status)])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.finish_run(run.pk, JobStatus.SUCCEEDED, exit_code=0)
    assert seen == [JobStatus.SUCCEEDED]
    assert not services.finish_run(run.pk, JobStatus.FAILED)


def test_human_errors_say_what_went_wrong_in_plain_words():
    from training.execution import human_error
    from training.trainer.errors import OOM_MESSAGE

    assert human_error({"kind": "oom"}, 5, "", "m", []) == OOM_MESSAGE
    assert human_error(None, 137, "", "m", []) == OOM_MESSAGE
    assert human_error(None, 1, "RuntimeError: CUDA out of memory. Tried", "m", []) == OOM_MESSAGE
    assert human_error({"kind": "model_not_found", "message": "x"}, 4, "", "org/nope", []).startswith(
        "base model not found: org/nope")
    missing = ["adapter_model.safetensors"]
    assert human_error(None, 0, "", "m", missing) == "the trainer ended without writing the adapter"
    assert "crashed (exit code 1)" in human_error(None, 1, "Traceback", "m", [])
