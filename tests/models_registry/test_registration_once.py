"""A training run becomes one version, however many callers register it at once: the database
holds one version per run, and a registration that finds one (under the line's lock, or through the
constraint) returns it. The data migration keeps one version of a run registered twice before."""


import pytest
from django.db import IntegrityError, connection, transaction

from curation.models import DatasetSnapshot
from models_registry import adapters, services
from models_registry.models import ModelVersion
from tests.migrating import migrate, schema_at
from tests.models_registry.factories import make_line, make_version, write_fake_adapter
from tests.races import race
from training.models import TrainingRun


def _succeeded_run(number: int = 1) -> TrainingRun:
    snapshot = DatasetSnapshot.objects.create(name="s", sha256=f"{number:064x}", format="alpaca",
                                              path="datasets/x.jsonl", row_count=1, train_count=1, eval_count=0)
    write_fake_adapter(f"runs/{number}/adapter")
    return TrainingRun.objects.create(dataset=snapshot, base_model="toy/base", run_dir=f"runs/{number}",
                                      hyperparameters={"model_line": "coder"}, status="succeeded")


@pytest.mark.django_db
def test_the_database_refuses_a_second_version_of_one_run():
    run = _succeeded_run()
    first = services.register_run_version(run)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(line=first.line, number=2, label="v2", base_model="toy/base",
                                    adapter_dir=first.adapter_dir, training_run=run)


@pytest.mark.django_db
def test_a_registration_that_lands_while_another_reads_the_adapter_is_the_one_returned(monkeypatch):
    """The worker's hook registers the run while a second caller is still hashing the adapter
    (it had found no version a moment before): the second caller gets the hook's version."""
    run = _succeeded_run()
    hash_folder, calls, landed = adapters.hash_folder, [], []

    def hash_while_the_hook_registers(folder):
        calls.append(folder)
        if len(calls) == 1:  # the first caller is hashing: the hook's registration runs now
            landed.append(services.register_run_version(TrainingRun.objects.get(pk=run.pk)))
        return hash_folder(folder)

    monkeypatch.setattr(adapters, "hash_folder", hash_while_the_hook_registers)
    version = services.register_run_version(run)
    assert landed and version == landed[0]
    assert list(ModelVersion.objects.filter(training_run=run)) == [version]
    assert version.label == "v1"


@pytest.mark.skipif("postgresql" not in connection.settings_dict["ENGINE"],
                    reason="two registrations at the same instant need PostgreSQL (the services pass runs it)")
@pytest.mark.django_db(transaction=True)
def test_two_registrations_racing_on_postgresql_make_one_version():
    run = _succeeded_run()
    racers = 4
    got, _, errors = race(racers, lambda: services.register_run_version(TrainingRun.objects.get(pk=run.pk)).pk)
    assert errors == []
    assert len(got) == racers and len(set(got)) == 1
    assert list(ModelVersion.objects.filter(training_run=run).values_list("pk", flat=True)) == got[:1]


BEFORE = [("models_registry", "0003_rename_lines_that_are_not_slugs")]
AFTER = [("models_registry", "0004_one_version_per_run")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_active_version_of_a_run_registered_twice():
    run, other = _succeeded_run(1), _succeeded_run(2)  # training's tables are not migrated back
    with schema_at(BEFORE) as old:
        Line, Version = old.get_model("models_registry", "ModelLine"), old.get_model("models_registry", "ModelVersion")
        line = Line.objects.create(name="coder", base_model="toy/base")
        common = {"line": line, "base_model": "toy/base", "adapter_dir": "runs/1/adapter"}
        first = Version.objects.create(number=1, label="v1", training_run_id=run.pk, status="candidate", **common)
        second = Version.objects.create(number=2, label="v2", training_run_id=run.pk, status="active", **common)
        single = Version.objects.create(number=3, label="v3", training_run_id=other.pk, status="candidate", **common)
        new = migrate(AFTER)
        Version = new.get_model("models_registry", "ModelVersion")
        assert Version.objects.get(pk=second.pk).training_run_id == run.pk
        detached = Version.objects.get(pk=first.pk)
        assert detached.training_run_id is None
        assert f"registered twice from training run {run.pk}; coder v2 keeps the link" in detached.notes
        assert Version.objects.get(pk=single.pk).training_run_id == other.pk
        assert Version.objects.count() == 3  # nothing deleted


@pytest.mark.django_db
def test_a_run_registered_by_hand_elsewhere_keeps_its_version(alice):
    """A folder registered by hand (no run) never collides with a run's version."""
    line = make_line(name="coder")
    make_version(line)
    run = _succeeded_run()
    version = services.register_run_version(run)
    assert version.line == line and version.label == "v2"
