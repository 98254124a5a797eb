"""The policy's `canary` release: a promote verdict starts a canary, and the cycle's journal follows it to its end."""

from models_registry import canary as canaries
from models_registry import services
from models_registry.models import CanaryState, ServedCompletion
from professor.models import Cycle, JournalEntry, Outcome
from professor.release import release_as_canary
from tests.models_registry.factories import make_line, make_version


def _outcomes(canary, version, successes: int, failures: int):
    for i in range(successes + failures):
        ServedCompletion.objects.create(completion_id=f"chatcmpl-{version.label}-{i}", line=canary.line,
                                        version=version, canary=canary, latency_ms=10.0,
                                        outcome="success" if i < successes else "failure")


def test_a_cycle_releases_as_a_canary_and_journals_its_promotion(db, alice, django_capture_on_commit_callbacks):
    line = make_line()
    v1, v2 = make_version(line), make_version(line)
    services.promote_version(v1, alice, "first")
    cycle = Cycle.objects.create(status="succeeded", outcome=Outcome.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        outcome, text = release_as_canary(cycle.pk, v2, [{"text": line.name, "url": f"/models/{line.name}/"}])
    Cycle.objects.filter(pk=cycle.pk).update(outcome=outcome)
    canary = canaries.running_canary(line)
    assert canary.candidate == v2 and "runs as a canary" in text and outcome == Outcome.HELD
    started = JournalEntry.objects.get(cycle=cycle)
    assert started.numbers["applied"] == "canary" and started.numbers["canary"] == canary.pk

    _outcomes(canary, v2, 60, 0)
    _outcomes(canary, v1, 5, 55)
    with django_capture_on_commit_callbacks(execute=True):
        decided = canaries.evaluate(canary.pk)
    assert decided.state == CanaryState.PROMOTED
    ended = JournalEntry.objects.filter(cycle=cycle).order_by("id").last()
    assert ended.numbers["state"] == "promoted" and ended.numbers["low"] > 0
    assert "ended promoted: the candidate is better" in ended.message
    cycle.refresh_from_db()
    assert cycle.outcome == Outcome.PROMOTED


def test_without_an_active_version_the_cycle_promotes_as_before(db):
    line = make_line()
    cycle = Cycle.objects.create(status="running")
    assert release_as_canary(cycle.pk, make_version(line), []) is None
    assert not JournalEntry.objects.filter(cycle=cycle).exists()


def test_a_canary_started_by_a_person_writes_in_no_journal(db, alice, django_capture_on_commit_callbacks):
    line = make_line()
    v1, v2 = make_version(line), make_version(line)
    services.promote_version(v1, alice, "first")
    canaries.start_canary(v2, alice)
    with django_capture_on_commit_callbacks(execute=True):
        canaries.stop_canary(line, alice, "enough")
    assert not JournalEntry.objects.exists()
