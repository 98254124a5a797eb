"""A cycle whose run succeeded on a training worker takes the version that worker registered: the registry's
on_run_succeeded hook runs there, before the Professor's hook (its app is ready first) advances the cycle,
and the cycle never registers one itself: the adapter may not be on the cycle's host. A registration that
failed stops the cycle with a journal entry that says so."""

import pytest

from jobs import lifecycle
from jobs.models import JobStatus
from models_registry.models import ModelLine, ModelVersion
from professor import cycle as cycle_module
from professor.models import Cycle, StepOutcome, Waiting
from tests.professor.factories import make_snapshot_row
from training.models import TrainingRun
from training.services.hooks import call_succeeded_hooks

pytestmark = pytest.mark.django_db


def _cycle_waiting_for_its_run() -> tuple[Cycle, TrainingRun]:
    cycle = cycle_module.start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="celery@professor")
    cycle_module._Runner(Cycle.objects.get(pk=cycle.pk)).start_training(_snapshot())
    cycle.refresh_from_db()
    assert (cycle.waiting_for, cycle.waiting_kind, cycle.waiting_id) == (Waiting.TRAINING, "run", cycle.run_id)
    return cycle, cycle.run


def _registered_elsewhere(run: TrainingRun) -> ModelVersion:
    """What the training worker's hook writes on its own host (the adapter is not on this one)."""
    line, _ = ModelLine.objects.get_or_create(name=run.hyperparameters["model_line"],
                                              defaults={"base_model": run.base_model})
    number = line.versions.count() + 1
    return ModelVersion.objects.create(line=line, number=number, label=f"v{number}", base_model=run.base_model,
                                       adapter_dir=f"{run.run_dir or 'runs/x'}/adapter",
                                       adapter_files={"adapter_model.safetensors": "0" * 64}, training_run=run)


def _snapshot():
    """A snapshot row with a file where the run's start looks for it."""
    from django.conf import settings

    from artifacts.hashing import file_sha256
    from curation.models import DatasetSnapshot

    snapshot = make_snapshot_row(60)
    path = settings.DATA_DIR / snapshot.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"instruction": "list files", "input": "", "output": "ls"}\n' * 60)
    DatasetSnapshot.objects.filter(pk=snapshot.pk).update(sha256=file_sha256(path))
    snapshot.refresh_from_db()
    return snapshot


def _succeed(run: TrainingRun) -> None:
    """What the training worker records (the hooks run after it, on that worker)."""
    TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.SUCCEEDED, final_metrics={"train_loss": 0.5})


def test_the_cycle_takes_the_version_the_workers_hook_registered(sent_jobs):
    cycle, run = _cycle_waiting_for_its_run()
    _succeed(run)
    landed = _registered_elsewhere(run)
    call_succeeded_hooks(run.pk)  # the registry's hook finds its version; the Professor's advances the cycle
    cycle.refresh_from_db()
    assert cycle.version == landed
    assert list(ModelVersion.objects.filter(training_run=run)) == [landed]  # the cycle registered nothing
    entry = cycle.journal.filter(step="training").order_by("-id").first()
    assert (entry.outcome, entry.message.split(":")[0]) == (StepOutcome.OK, f"run {run.pk} succeeded")
    assert f"candidate {landed.label}" in entry.message
    assert cycle.waiting_for != Waiting.TRAINING  # it went on to the evaluation


def test_a_registration_that_failed_ends_the_cycle_as_failed_with_the_reason_in_its_journal(sent_jobs):
    cycle, run = _cycle_waiting_for_its_run()
    _succeed(run)
    call_succeeded_hooks(run.pk)  # the registry's hook fails here (no adapter on disk), then the Professor's runs
    cycle.refresh_from_db()
    assert (cycle.status, cycle.outcome) == ("failed", "failed")
    last = cycle.journal.order_by("-id").first()
    assert (last.step, last.outcome) == ("training", StepOutcome.FAILED)
    assert last.message.startswith(f"run {run.pk} succeeded, but no version was registered from it")
    assert "on_run_succeeded hook" in last.message
    assert cycle.version is None
    assert not ModelVersion.objects.filter(training_run=run).exists()
