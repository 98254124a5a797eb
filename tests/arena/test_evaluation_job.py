"""The evaluation job: claimed once, progress reported, cancellation honoured, failures in plain words."""

import shutil

import pytest
from django.conf import settings

from arena import services
from arena.models import Evaluation, EvaluationItem
from jobs.models import JobStatus
from tests.arena.factories import make_exam
from tests.curation.factories import make_lesson
from tests.models_registry.factories import make_line, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small(settings):
    settings.ARENA_MAX_NEW_TOKENS = 4
    settings.ARENA_BOOTSTRAP_SAMPLES = 200


def _line(toy):
    line = make_line(base_model=str(toy["base"]))
    make_exam(line, count=4)
    return line


def test_an_evaluation_runs_once_reports_progress_and_stores_every_item(toy, django_capture_on_commit_callbacks):
    line = _line(toy)
    for i in range(3):
        make_lesson(f"How do I list the files of folder {i}?", "Use ls.")
    services.freeze_holdout(line, size=3)
    active = make_version(line, adapter_src=toy["a"], status="active")
    candidate = make_version(line, adapter_src=toy["b"])
    evaluation = services.start_evaluation(line, candidate.label)
    assert evaluation.against == active and evaluation.holdout.version == 1

    done = services.run_evaluation(evaluation.pk)

    assert done.status == JobStatus.SUCCEEDED and done.progress == 1.0
    assert services.run_evaluation(evaluation.pk) is None  # a second delivery finds it claimed
    assert EvaluationItem.objects.filter(evaluation=done, kind="exam").count() == 4
    assert EvaluationItem.objects.filter(evaluation=done, kind="holdout").count() == 3
    assert done.verdict["holdout"] == {"version": 1, "items": 3, "excluded_as_trained_on": 0}
    assert set(done.verdict["categories"]) == {"files", "folders", "holdout"}
    candidate.refresh_from_db()
    assert candidate.metrics["arena"]["evaluation"] == done.pk
    assert done.decision in ("promote", "reject", "hold")


def test_a_cancel_requested_while_it_runs_stops_it(toy):
    line = _line(toy)
    candidate = make_version(line, adapter_src=toy["a"])
    evaluation = services.start_evaluation(line, candidate, "base")
    Evaluation.objects.filter(pk=evaluation.pk).update(cancel_requested=True)

    done = services.run_evaluation(evaluation.pk)

    assert done.status == JobStatus.CANCELLED and not done.verdict
    candidate.refresh_from_db()
    assert not candidate.metrics.get("arena")


def test_a_missing_adapter_fails_the_evaluation_in_plain_words(toy):
    line = _line(toy)
    candidate = make_version(line, adapter_src=toy["a"])
    shutil.rmtree(settings.DATA_DIR / candidate.adapter_dir)
    done = services.run_evaluation(services.start_evaluation(line, candidate, "base").pk)
    assert done.status == JobStatus.FAILED and done.human_error.startswith("evaluation failed:")
