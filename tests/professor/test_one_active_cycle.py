"""One active cycle per line: a partial unique constraint, racing triggers, and the reaper for a silent cycle."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from jobs import lifecycle
from professor.cycle import CycleBusy, start_cycle
from professor.models import Cycle, Outcome
from tests.races import race

POSTGRES = "postgresql" in django_settings.DATABASES["default"]["ENGINE"]


@pytest.mark.django_db
def test_a_second_trigger_answers_already_queued_since():
    first = start_cycle(None, queue=False)
    with pytest.raises(CycleBusy) as refused:
        start_cycle(None, queue=False)
    assert str(refused.value).startswith("a cycle is already queued since ")
    assert str(refused.value).endswith(f"(cycle {first.pk})")
    assert list(Cycle.objects.values_list("pk", flat=True)) == [first.pk]  # the refused one left nothing behind


@pytest.mark.django_db
def test_the_command_line_says_already_queued(capsys):
    from django.core.management import CommandError, call_command

    start_cycle(None, queue=False)
    with pytest.raises(CommandError, match="not started: a cycle is already queued since"):
        call_command("professor", "cycle")


@pytest.mark.django_db
def test_a_cycle_that_ended_frees_its_line_for_the_next_trigger():
    first = start_cycle(None, queue=False)
    lifecycle.cancel(Cycle, first.pk)
    second = start_cycle(None, queue=False)
    assert list(Cycle.objects.active().values_list("pk", flat=True)) == [second.pk] != [first.pk]


@pytest.mark.django_db
def test_another_line_may_run_its_own_cycle():
    first = start_cycle(None, queue=False)
    other = start_cycle(None, queue=False, line="other-line")
    assert {first.line, other.line} == {django_settings.PROFESSOR_MODEL_LINE, "other-line"}
    assert Cycle.objects.active().count() == 2


@pytest.mark.django_db
def test_the_jobs_reaper_marks_a_silent_cycle_that_waits_for_no_job_lost(settings):
    from jobs.reaper import reap

    settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS = 60
    cycle = start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="w")
    Cycle.objects.filter(pk=cycle.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=120))
    reap()
    cycle.refresh_from_db()
    assert (cycle.status, cycle.outcome) == ("lost", Outcome.FAILED)
    assert start_cycle(None, queue=False).pk != cycle.pk  # the line is free again


@pytest.mark.skipif(not POSTGRES, reason="the race needs PostgreSQL (the services pass runs it with DATABASE_URL)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_triggers_on_postgresql_start_exactly_one_cycle():
    racers = 6
    started, refused, errors = race(racers, lambda: start_cycle(None, queue=False).pk, refusals=(CycleBusy,))
    assert errors == []
    assert len(started) == 1 and len(refused) == racers - 1
    assert all(f"(cycle {started[0]})" in message for message in refused)
    assert list(Cycle.objects.values_list("pk", flat=True)) == started
    assert Cycle.objects.active().count() == 1


@pytest.mark.django_db
def test_the_database_itself_refuses_a_second_active_cycle_of_a_line():
    from django.db import IntegrityError, transaction

    first = start_cycle(None, queue=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Cycle.objects.create(line=first.line)
