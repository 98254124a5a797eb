"""The periodic check in django-celery-beat, and saying so when no worker takes a job."""

import re
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from jobs import lifecycle
from professor import cycle as cycle_module
from professor.management.commands import professor as command_module
from professor.models import Cycle
from professor.tasks import check, note_unclaimed

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


def test_the_cycle_journals_when_no_worker_takes_its_run(settings):
    from datetime import timedelta

    from django.utils import timezone

    from jobs.models import JobStatus
    from professor.models import Waiting
    from tests.professor.factories import make_run, make_snapshot_row
    from training.models import TrainingRun

    cycle = cycle_module.start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="w")
    run = make_run(make_snapshot_row(60), status=JobStatus.QUEUED)
    TrainingRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    Cycle.objects.filter(pk=cycle.pk).update(waiting_for=Waiting.TRAINING, waiting_kind="run", waiting_id=run.pk)
    # The delayed task the cycle sends when it starts waiting (WORKER_WAIT_WARNING_SECONDS later):
    note_unclaimed(cycle.pk, "run", run.pk)
    entry = cycle.journal.get(outcome="waiting")
    assert entry.step == "training"
    assert re.match(rf"no worker has taken run {run.pk} after 6\d s: ", entry.message)
    assert entry.message.endswith("is a worker running for queue training?")
    lifecycle.claim(TrainingRun, run.pk, worker="gpu-1")  # taken by a worker meanwhile: no second note
    note_unclaimed(cycle.pk, "run", run.pk)
    assert cycle.journal.filter(outcome="waiting").count() == 1
