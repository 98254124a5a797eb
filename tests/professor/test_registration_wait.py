"""A cycle whose run succeeded on a training worker waits for that worker to register the version (the
registry's hook runs there, after the success is committed), and never registers one itself: the
adapter may not be on the cycle's host. A registration that never comes stops the cycle with a
journal entry that says so."""

from types import SimpleNamespace

import pytest

from jobs import lifecycle
from models_registry.models import ModelLine, ModelVersion
from professor import cycle as cycle_module
from professor.models import Cycle, StepOutcome
from tests.professor.factories import make_snapshot_row
from training.models import RunStatus, TrainingRun

pytestmark = pytest.mark.django_db


def _runner() -> cycle_module._Runner:
    cycle = cycle_module.start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="celery@professor")
    return cycle_module._Runner(Cycle.objects.get(pk=cycle.pk), in_process=False, worker="celery@professor")


def _run_of(runner) -> TrainingRun:
    return TrainingRun.objects.get(pk=Cycle.objects.get(pk=runner.cycle.pk).run_id)


def _registered_elsewhere(run: TrainingRun) -> ModelVersion:
    """What the training worker's hook writes on its own host (the adapter is not on this one)."""
    line, _ = ModelLine.objects.get_or_create(name=run.hyperparameters["model_line"],
                                              defaults={"base_model": run.base_model})
    number = line.versions.count() + 1
    return ModelVersion.objects.create(line=line, number=number, label=f"v{number}", base_model=run.base_model,
                                       adapter_dir=f"{run.run_dir or 'runs/x'}/adapter",
                                       adapter_files={"adapter_model.safetensors": "0" * 64}, training_run=run)


def _worker_timeline(runner, events: list):
    """time.sleep of the cycle's polling: each call is the next thing the training worker does."""
    clock = iter(range(0, 100000))
    steps = iter(events)

    def sleep(_seconds):
        step = next(steps, None)
        if step is not None:
            step(_run_of(runner))

    return SimpleNamespace(monotonic=lambda: float(next(clock)), sleep=sleep)


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
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, final_metrics={"train_loss": 0.5})


def test_the_cycle_waits_for_the_workers_registration_and_takes_that_version(settings, monkeypatch, sent_jobs):
    settings.PROFESSOR_REGISTRATION_WAIT_SECONDS = 60
    runner = _runner()
    landed = []
    # The run succeeds, the cycle sees it, polls twice more, then the worker's hook registers the version.
    timeline = [_succeed, lambda run: None, lambda run: None, lambda run: landed.append(_registered_elsewhere(run))]
    monkeypatch.setattr(cycle_module, "time", _worker_timeline(runner, timeline))
    run, version = runner.train(_snapshot())
    assert landed and version == landed[0]
    assert list(ModelVersion.objects.filter(training_run=run)) == [version]  # the cycle registered nothing
    assert Cycle.objects.get(pk=runner.cycle.pk).version == version
    entry = runner.cycle.journal.filter(step="training").order_by("-id").first()
    assert (entry.outcome, entry.message.split(":")[0]) == (StepOutcome.OK,
                                                            f"run {run.pk} succeeded")
    assert f"candidate {version.label}" in entry.message


def test_a_registration_that_never_comes_stops_the_cycle_with_a_journal_entry(settings, monkeypatch, sent_jobs):
    settings.PROFESSOR_REGISTRATION_WAIT_SECONDS = 30
    runner = _runner()
    monkeypatch.setattr(cycle_module, "time", _worker_timeline(runner, [_succeed]))
    monkeypatch.setattr(runner, "heartbeat", lambda **_: None)
    with pytest.raises(cycle_module.StepFailed) as stopped:
        runner.train(_snapshot())
    run = _run_of(runner)
    assert stopped.value.step == "training"
    assert stopped.value.reason.startswith(f"run {run.pk} succeeded, but no version was registered from it within "
                                           "30 s")
    assert "on_run_succeeded hook" in stopped.value.reason
    assert not ModelVersion.objects.filter(training_run=run).exists()


def test_the_failed_wait_ends_the_cycle_as_failed_with_the_reason_in_its_journal(settings, monkeypatch, sent_jobs):
    settings.PROFESSOR_REGISTRATION_WAIT_SECONDS = 30
    runner = _runner()
    monkeypatch.setattr(cycle_module, "time", _worker_timeline(runner, [_succeed]))
    monkeypatch.setattr(runner, "import_memory", lambda: None)
    monkeypatch.setattr(runner, "check_readiness", lambda: None)
    monkeypatch.setattr(runner, "build_dataset", lambda: _snapshot())
    runner.run()
    cycle = Cycle.objects.get(pk=runner.cycle.pk)
    assert (cycle.status, cycle.outcome) == ("failed", "failed")
    last = cycle.journal.order_by("-id").first()
    assert (last.step, last.outcome) == ("training", StepOutcome.FAILED)
    assert "no version was registered from it within 30 s" in last.message
    assert cycle.version is None
