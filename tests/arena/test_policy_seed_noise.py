"""Training noise measured from replica versions (same dataset and settings, other seeds) scored on the same
questions, and recorded in the verdict as where the margin came from."""

import pytest

from arena.models import Evaluation, EvaluationItem
from arena.replicas import replica_versions, seed_noise
from jobs.models import JobStatus
from tests.arena.factories import make_exam
from tests.models_registry.factories import make_line, make_version
from tests.professor.factories import make_run, make_snapshot_row

pytestmark = pytest.mark.django_db
HP = {"learning_rate": 0.003, "batch_size": 4, "num_epochs": 3, "lora_rank": 16}


def _replica(line, snapshot, seed, **changed):
    run = make_run(snapshot)
    run.hyperparameters = {**HP, "seed": seed, "model_line": line.name, **changed}
    run.save()
    return make_version(line, training_run=run, dataset=snapshot)


def _scored(version, exam, shift):
    evaluation = Evaluation.objects.create(line=version.line, candidate=version, exam=exam,
                                           status=JobStatus.SUCCEEDED)
    EvaluationItem.objects.bulk_create(
        EvaluationItem(evaluation=evaluation, kind="exam", key=f"q{i}", category="x", messages=[], reference="r",
                       candidate_loss=1.0 + i / 10 + shift, against_loss=2.0, candidate_passed=i % 2 == 0)
        for i in range(6))
    return evaluation


def _rows(shift):
    return [{"kind": "exam", "key": f"q{i}", "candidate_loss": 1.0 + i / 10 + shift, "candidate_passed": i % 2 == 0}
            for i in range(6)]


def test_replicas_are_versions_with_the_same_data_and_settings_but_another_seed():
    line, snapshot = make_line(), make_snapshot_row(100)
    a, b = _replica(line, snapshot, 1), _replica(line, snapshot, 2)
    other_settings = _replica(line, snapshot, 3, learning_rate=0.01)
    other_data = _replica(line, make_snapshot_row(120), 4)
    assert replica_versions(a) == [b]
    assert other_settings not in replica_versions(a) and other_data not in replica_versions(a)


def test_the_seed_sd_comes_from_the_replicas_mean_losses_on_the_shared_items(settings):
    line, snapshot = make_line(), make_snapshot_row(100)
    exam = make_exam(line)
    first, second, candidate = (_replica(line, snapshot, seed) for seed in (1, 2, 3))
    _scored(first, exam, 0.00)
    _scored(second, exam, 0.02)
    evaluation = Evaluation.objects.create(line=line, candidate=candidate, exam=exam)

    noise = seed_noise(evaluation, _rows(0.04))

    assert noise["exam"] == pytest.approx(0.02)  # SD of 0, 0.02, 0.04 added to the same items
    assert noise["pass_rate"] == pytest.approx(0.0)
    assert noise["replicas"] == ["v3", "v1", "v2"]
    assert noise["source"].startswith("seed component across 3 replicas of the candidate's recipe (v3, v1, v2)")
    assert noise["against_trained"] is False  # compared with the base model: one side carries training noise


def test_fewer_replicas_than_the_minimum_measure_nothing(settings):
    line, snapshot = make_line(), make_snapshot_row(100)
    exam = make_exam(line)
    first, candidate = _replica(line, snapshot, 1), _replica(line, snapshot, 2)
    _scored(first, exam, 0.0)
    evaluation = Evaluation.objects.create(line=line, candidate=candidate, exam=exam)
    assert seed_noise(evaluation, _rows(0.01)) is None
    settings.ARENA_MIN_REPLICAS = 2
    assert seed_noise(evaluation, _rows(0.01))["exam"] == pytest.approx(0.01 / 2 ** 0.5)


def test_item_by_item_differences_between_replicas_are_not_counted_as_seed_noise_twice():
    # Replicas whose losses differ item by item but not on average: that spread is in the paired interval's
    # item variance already, so the seed component (which no number of items averages away) is 0.
    line, snapshot = make_line(), make_snapshot_row(100)
    exam = make_exam(line)
    first, second, candidate = (_replica(line, snapshot, seed) for seed in (1, 2, 3))
    for version, sign in ((first, 1), (second, -1)):
        evaluation = Evaluation.objects.create(line=line, candidate=version, exam=exam, status=JobStatus.SUCCEEDED)
        EvaluationItem.objects.bulk_create(
            EvaluationItem(evaluation=evaluation, kind="exam", key=f"q{i}", category="x", messages=[], reference="r",
                           candidate_loss=1.0 + sign * (0.1 if i % 2 else -0.1), against_loss=2.0)
            for i in range(6))
    evaluation = Evaluation.objects.create(line=line, candidate=candidate, exam=exam)
    rows = [{"kind": "exam", "key": f"q{i}", "candidate_loss": 1.0} for i in range(6)]

    noise = seed_noise(evaluation, rows)

    assert noise["exam"] == pytest.approx(0.0)
    assert noise["sd_of_means"]["exam"] == pytest.approx(0.0)  # their means agree exactly too
    rows[0]["candidate_loss"] = 1.3  # one item moved: the means now differ, by an item-level change
    noise = seed_noise(evaluation, rows)
    assert noise["sd_of_means"]["exam"] > 0.02 and noise["exam"] < noise["sd_of_means"]["exam"] / 2
