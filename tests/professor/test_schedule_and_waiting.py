"""The periodic check in django-celery-beat, and saying so when no worker takes a job."""

from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from jobs import lifecycle
from professor import cycle as cycle_module
from professor.management.commands import professor as command_module
from professor.models import Cycle
from professor.tasks import check

pytestmark = pytest.mark.django_db


def test_the_periodic_check_is_scheduled_hourly_and_editable_in_the_admin(alice, client):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="professor.check")
    assert task.enabled and task.interval.every == 60 and task.interval.period == "minutes"
    client.force_login(alice)
    assert client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/").status_code == 200


def test_the_periodic_check_starts_a_cycle_or_says_one_is_running():
    assert check() == f"cycle {Cycle.objects.get().pk} queued"
    assert Cycle.objects.get().trigger == "schedule"
    assert check().startswith("a cycle is already queued since ")
    assert Cycle.objects.count() == 1


def _cancel_after_first_sleep(model, pk, calls):
    def sleep(_seconds):
        calls.append(_seconds)
        if len(calls) >= 3:
            lifecycle.cancel(model, pk)
    return sleep


def test_cycle_wait_in_services_mode_says_when_no_worker_took_it(settings, monkeypatch, capsys):
    settings.ACADEMY_MODE = "services"
    settings.WORKER_WAIT_WARNING_SECONDS = 1
    calls = []
    clock = iter(range(0, 1000, 1))
    monkeypatch.setattr(command_module, "time", SimpleNamespace(
        monotonic=lambda: float(next(clock)),
        sleep=lambda s: _cancel_after_first_sleep(Cycle, Cycle.objects.get().pk, calls)(s)))
    with pytest.raises(CommandError, match="cancelled"):
        call_command("professor", "cycle", "--wait")
    err = capsys.readouterr().err
    assert f"no worker has taken cycle {Cycle.objects.get().pk} after" in err
    assert "is a worker running for queue default?" in err


def test_the_cycle_journals_when_no_worker_takes_its_run(settings, monkeypatch):
    from tests.professor.factories import make_run, make_snapshot_row
    from training.models import RunStatus, TrainingRun

    settings.WORKER_WAIT_WARNING_SECONDS = 1
    cycle = cycle_module.start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="w")
    run = make_run(make_snapshot_row(60), status=RunStatus.QUEUED)
    clock = iter(range(0, 1000, 1))
    calls = []
    monkeypatch.setattr(cycle_module, "time", SimpleNamespace(
        monotonic=lambda: float(next(clock)), sleep=lambda s: _cancel_after_first_sleep(TrainingRun, run.pk, calls)(s)))
    runner = cycle_module._Runner(Cycle.objects.get(pk=cycle.pk), in_process=False, worker="w")
    runner._wait(TrainingRun, run.pk, f"run {run.pk}", "training", "training", 0.2, 0.7)
    entry = cycle.journal.get(outcome="waiting")
    assert entry.message.startswith(f"no worker has taken run {run.pk} after ")
    assert entry.message.endswith("is a worker running for queue training?")
