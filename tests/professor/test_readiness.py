"""Readiness: each rule at its boundary, with a reason that carries the numbers."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs.models import JobStatus
from professor.readiness import readiness
from tests.factories import bearer, make_token
from tests.professor.factories import make_lessons, make_run, make_snapshot_row

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _minimums(settings):
    settings.MIN_LESSONS_FOR_TRAINING = 10
    settings.MIN_NEW_EXAMPLES_FOR_TRAINING = 4
    settings.MIN_TRAINING_INTERVAL_HOURS = 24


def test_it_is_not_ready_one_below_the_minimum_of_approved_examples():
    make_lessons(9)
    decision = readiness()
    assert not decision.ready
    assert "9 approved examples (minimum 10)" in decision.blocking
    assert decision.numbers["approved"] == 9


def test_it_is_ready_at_exactly_the_minimum_with_no_run_yet():
    make_lessons(10)
    decision = readiness()
    assert decision.ready, decision.reasons
    assert decision.reasons[0] == "10 approved examples (minimum 10)"
    assert decision.numbers["last_run"] is None


def test_pending_and_rejected_lessons_do_not_count():
    make_lessons(10, status="pending")
    make_lessons(3, status="rejected")
    assert readiness().numbers["approved"] == 0


def _last_run(hours_ago: float, status=JobStatus.SUCCEEDED):
    snapshot = make_snapshot_row(10, created_at=timezone.now() - timedelta(hours=hours_ago))
    return make_run(snapshot, hours_ago=hours_ago, status=status)


def test_new_examples_are_counted_since_the_last_runs_dataset():
    make_lessons(10, hours_ago=50)
    run = _last_run(48)
    make_lessons(3)
    decision = readiness()
    assert not decision.ready
    assert f"3 new since run {run.pk} (minimum 4)" in decision.blocking
    make_lessons(1)
    decision = readiness()
    assert decision.ready, decision.blocking
    assert decision.numbers["new"] == 4


def test_an_example_approved_after_the_dataset_counts_as_new():
    old = make_lessons(4, status="pending", hours_ago=50)
    make_lessons(10, hours_ago=50)
    _last_run(48)
    from curation.models import Lesson

    Lesson.objects.filter(pk__in=[lesson.pk for lesson in old]).update(review_status="approved",
                                                                       reviewed_at=timezone.now())
    assert readiness().numbers["new"] == 4


def test_the_interval_rule_refuses_until_the_minimum_has_passed():
    make_lessons(10, hours_ago=50)
    _last_run(23.9)
    make_lessons(5)
    decision = readiness()
    assert not decision.ready
    assert any(reason.startswith("last run 23.9 h ago (minimum 24 h)") for reason in decision.blocking)
    assert decision.numbers["hours_since_last_run"] == pytest.approx(23.9, abs=0.01)


def test_the_interval_rule_passes_at_exactly_the_minimum():
    make_lessons(10, hours_ago=50)
    _last_run(24)
    make_lessons(5)
    assert readiness().ready


def test_a_queued_or_running_run_of_the_line_blocks():
    make_lessons(20)
    run = _last_run(48, status=JobStatus.QUEUED)
    decision = readiness()
    assert not decision.ready
    assert f"run {run.pk} of line default is queued or running" in decision.blocking
    assert decision.numbers["active_runs"] == [run.pk]


def test_a_run_of_another_line_neither_blocks_nor_counts():
    make_lessons(10)
    snapshot = make_snapshot_row(10)
    make_run(snapshot, status=JobStatus.RUNNING, line="other-line")
    decision = readiness()
    assert decision.ready
    assert decision.numbers["last_run"] is None


def test_the_command_ends_with_one_json_object(capsys):
    make_lessons(3)
    call_command("professor", "readiness", "--json")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    body = json.loads(last)
    assert set(body) == {"ready", "reasons", "numbers"}
    assert body["ready"] is False and body["numbers"]["approved"] == 3


def test_the_api_answers_with_the_same_decision(client, viewer):
    make_lessons(12)
    response = client.get("/api/v1/professor/readiness", **bearer(make_token(viewer, "Viewer")))
    assert response.status_code == 200
    assert response.json()["ready"] is True
    assert response.json()["reasons"][0] == "12 approved examples (minimum 10)"


def test_the_api_needs_a_login(client):
    assert client.get("/api/v1/professor/readiness").status_code == 401


def test_the_overview_and_the_training_page_show_it(client, bob):
    make_lessons(3)
    client.force_login(bob)
    for path in ("/", "/training/"):
        body = client.get(path).content.decode()
        assert "Not ready to train" in body, path
        assert "3 approved examples (minimum 10)" in body, path
