"""A cycle the reaper marks lost ends as failed, says so in its journal and frees its line; a second
trigger names a cycle that only waits for a worker as queued, not running."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from jobs import lifecycle
from professor import journal
from professor.commands import ask
from professor.cycle import CycleBusy, start_cycle
from professor.models import Cycle, Outcome, StepOutcome

pytestmark = pytest.mark.django_db


def _running_cycle_gone_silent() -> Cycle:
    cycle = start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="celery@gone")
    journal.write(cycle.pk, "training", StepOutcome.OK, "started run 7")
    return cycle


def _reap_later(seconds: float) -> list[int]:
    """The reaper, `seconds` from now; its hooks (the journal entry) run once its transaction commits."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return lifecycle.reap_stale(Cycle, now=timezone.now() + timedelta(seconds=seconds))


def test_a_cycle_the_reaper_marks_lost_is_failed_not_pending():
    cycle = _running_cycle_gone_silent()
    assert _reap_later(settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS + 5) == [cycle.pk]
    cycle.refresh_from_db()
    assert cycle.status == "lost"
    assert cycle.outcome == Outcome.FAILED
    assert "nothing of it was promoted" in cycle.summary


def test_a_lost_cycle_gets_a_journal_entry_at_the_step_where_it_stopped():
    cycle = _running_cycle_gone_silent()
    _reap_later(settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS + 5)
    last = cycle.journal.order_by("-at", "-id").first()
    assert (last.step, last.outcome) == ("training", StepOutcome.FAILED)
    assert last.message.startswith("lost: its worker stopped reporting")


def test_a_lost_cycle_frees_its_line_so_the_next_trigger_starts_at_once():
    cycle = _running_cycle_gone_silent()
    _reap_later(settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS + 5)
    successor = start_cycle(None, queue=False)  # would be CycleBusy had the lost cycle stayed active
    assert Cycle.objects.active().get() == successor != cycle


def test_a_cycle_that_still_reports_is_not_reaped():
    cycle = _running_cycle_gone_silent()
    assert _reap_later(settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS / 2) == []
    cycle.refresh_from_db()
    assert (cycle.status, cycle.outcome) == ("running", Outcome.PENDING)
    assert not cycle.journal.filter(outcome=StepOutcome.FAILED).exists()


def test_a_second_trigger_names_a_queued_cycle_as_queued_and_waiting_for_a_worker():
    first = start_cycle(None, queue=False)
    with pytest.raises(CycleBusy) as refused:
        start_cycle(None, queue=False)
    assert str(refused.value).startswith("a cycle is already queued since ")
    assert "waiting for a worker" in str(refused.value) and "running" not in str(refused.value)
    assert str(refused.value).endswith(f"(cycle {first.pk})")


def test_a_second_trigger_names_a_claimed_cycle_as_running_since_its_start():
    first = start_cycle(None, queue=False)
    lifecycle.claim(Cycle, first.pk, worker="celery@busy")
    with pytest.raises(CycleBusy) as refused:
        start_cycle(None, queue=False)
    assert str(refused.value).startswith("a cycle is already running since ")
    assert refused.value.status == "running"
    assert refused.value.since == Cycle.objects.get(pk=first.pk).started_at


def test_the_start_command_says_the_holding_cycle_is_only_queued():
    first = start_cycle(None, queue=False)
    answer = ask(None, "start training")
    assert not answer.ok
    assert "already queued since" in answer.text and f"(cycle {first.pk})" in answer.text
    assert "running" not in answer.text
    assert answer.data == {"cycle": first.pk, "status": "queued"}
