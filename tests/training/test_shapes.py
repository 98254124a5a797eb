"""The run's JSON fields have typed shapes: hyperparameters follow the trainer's own table, artifacts their record."""

import json

import pytest
from django.core.exceptions import ValidationError

from tests.training.factories import make_snapshot
from training import services
from training.ingest import RunIngestor
from training.models import TrainingRun
from training.shapes import RunArtifacts, RunHyperparameters, check_artifacts, check_hyperparameters
from training.trainer.spec import HYPERPARAMETERS

SHA = "a" * 64


def test_the_hyperparameter_shape_takes_every_default_and_bound_from_the_trainers_table():
    schema = RunHyperparameters.model_json_schema()["properties"]
    assert set(HYPERPARAMETERS) <= set(schema)
    for name, (_kind, default, low, high) in HYPERPARAMETERS.items():
        assert RunHyperparameters.model_fields[name].default == default
        bounds = schema[name].get("anyOf", [schema[name]])[0]  # optional ones: [the number, null]
        assert bounds.get("minimum") == low and bounds.get("maximum") == high


def test_changing_the_trainers_table_changes_the_shape(monkeypatch):
    import importlib

    from training import shapes

    low_rank = dict(HYPERPARAMETERS, lora_rank=(int, 16, 1, 8))
    monkeypatch.setattr("training.trainer.spec.HYPERPARAMETERS", low_rank)
    try:
        reloaded = importlib.reload(shapes)
        with pytest.raises(ValidationError):
            reloaded.check_hyperparameters({"lora_rank": 16})
    finally:
        monkeypatch.undo()
        importlib.reload(shapes)


@pytest.mark.parametrize("values, field", [
    ({"lora_rank": 0}, "hyperparameters.lora_rank"),
    ({"lora_rank": 2.5}, "hyperparameters.lora_rank"),
    ({"packing": 1}, "hyperparameters.packing"),
    ({"learning_rate": "0.1"}, "hyperparameters.learning_rate"),
    ({"lerning_rate": 0.1}, "hyperparameters.lerning_rate"),
    ({"target_modules": []}, "hyperparameters.target_modules"),
])
def test_a_bad_hyperparameter_is_named_in_the_error(values, field):
    with pytest.raises(ValidationError) as caught:
        check_hyperparameters(values)
    assert list(caught.value.message_dict) == [field]
    assert caught.value.message_dict[field][0].startswith(f"{field}: ")


def test_validated_hyperparameters_fit_the_shape_as_stored(settings):
    values = services.validate_hyperparameters({"lora_rank": 4, "target_modules": "all-linear",
                                                "model_line": "venom-coder"})
    check_hyperparameters(values)
    assert RunHyperparameters.model_validate(values).lora_rank == 4


@pytest.mark.parametrize("artifacts, field", [
    ({"checkpoints": [{"step": 2}]}, "artifacts.checkpoints.0.path"),
    ({"adapter": {"adapter_model.safetensors": "not-a-hash"}}, "artifacts.adapter.adapter_model.safetensors"),
    ({"base_model": {"key": "models/x", "files": {}, "size": 3}}, "artifacts.base_model.size"),
    ({"log": 7}, "artifacts.log"),
])
def test_a_bad_artifact_record_is_named_in_the_error(artifacts, field):
    with pytest.raises(ValidationError) as caught:
        check_artifacts(artifacts)
    assert field in caught.value.message_dict


def test_what_a_finished_run_records_fits_the_artifact_shape():
    RunArtifacts.model_validate({
        "base_model": {"key": "models/toy", "files": {"config.json": SHA}},
        "checkpoints": [{"step": 2, "path": "checkpoints/step-2"}, {"step": None, "path": ""}],
        "log": "runs/1/trainer.log", "adapter_dir": "runs/1/adapter", "adapter": {"adapter_model.safetensors": SHA}})


@pytest.mark.django_db
def test_checkpoints_are_recorded_only_in_the_artifact_shape(bob, monkeypatch):
    monkeypatch.setattr("jobs.broadcast.publish_job_events", lambda group, events: None)
    run = services.start_run(bob, dataset=make_snapshot(), base_model="org/model")
    services.claim_run(run.pk, "w@host")  # a worker's ingestor records checkpoints of a claimed run
    ingestor = RunIngestor(run)
    ingestor.ingest([json.dumps({"event": "checkpoint", "step": 2, "path": "checkpoints/step-2"})])
    with pytest.raises(ValidationError) as caught:
        ingestor.ingest([json.dumps({"event": "checkpoint", "step": "two", "path": "checkpoints/step-x"})])
    assert "artifacts.checkpoints.1.step" in caught.value.message_dict
    assert TrainingRun.objects.get(pk=run.pk).artifacts == {"checkpoints": [{"step": 2, "path": "checkpoints/step-2"}]}


@pytest.mark.django_db
def test_a_started_run_stores_its_hyperparameters_unchanged(bob, sent_jobs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_run(bob, dataset=make_snapshot(), hyperparameters={"lora_rank": 4, "learning_rate": 1})
    run.refresh_from_db()
    assert run.hyperparameters["lora_rank"] == 4 and run.hyperparameters["learning_rate"] == 1.0
    check_hyperparameters(run.hyperparameters)
