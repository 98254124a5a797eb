"""A fair Professor: the candidate keeps the active version's training settings, and a person approves the
first promotion over the base model and any promotion after a large change in the training data."""

import json

import pytest

from arena.models import Decision
from curation.models import DatasetSnapshot
from professor.approval import approval_needed
from professor.parameters import keep_recipe, suggest_parameters, values
from tests.arena.factories import make_evaluation
from tests.models_registry.factories import make_line, make_version
from tests.professor.factories import gpu_worker, make_run, make_snapshot_row

pytestmark = pytest.mark.django_db


def test_a_new_candidate_keeps_the_active_versions_settings_when_the_data_grows(settings):
    old_rows, new_rows = make_snapshot_row(89), make_snapshot_row(149)
    run = make_run(old_rows)
    run.hyperparameters = {**values(suggest_parameters(old_rows, gpu_worker("g", 80_000), base_model="org/m")),
                           "seed": 11}
    run.save()
    active = make_version(make_line(), status="active", training_run=run, dataset=old_rows)
    fresh = suggest_parameters(new_rows, gpu_worker("g", 80_000), base_model="org/m")
    assert (fresh["batch_size"][0], fresh["num_epochs"][0]) == (4, 3)  # the size band moved

    kept = keep_recipe(fresh, active, new_rows)

    assert (kept["batch_size"][0], kept["num_epochs"][0], kept["seed"][0]) == (2, 5, 11)
    assert "kept from the active version v1" in kept["batch_size"][1]
    assert kept["eval_every_steps"][0] == max(1, 75 * 5 // 10)


def test_without_an_active_run_or_with_the_setting_off_the_suggestion_stands(settings):
    snapshot = make_snapshot_row(149)
    fresh = suggest_parameters(snapshot, gpu_worker("g", 80_000), base_model="org/m")
    assert keep_recipe(fresh, None, snapshot) == fresh
    run = make_run(make_snapshot_row(89))
    run.hyperparameters = {"batch_size": 2, "num_epochs": 5}
    run.save()
    active = make_version(make_line(), status="active", training_run=run)
    settings.PROFESSOR_KEEP_RECIPE = False
    assert keep_recipe(fresh, active, snapshot) == fresh


def test_the_first_promotion_over_the_base_model_waits_for_a_person(settings):
    candidate = make_version(make_line())
    evaluation = make_evaluation(candidate, None, decision=Decision.PROMOTE)
    assert "first promotion over the base model" in approval_needed(evaluation)
    settings.PROFESSOR_APPROVE_FIRST_PROMOTION = False
    assert approval_needed(evaluation) == ""


def _snapshot(settings, name, ids):
    (settings.DATA_DIR / f"{name}.jsonl").write_text("".join(
        json.dumps({"messages": [], "split": "train", "source": {"kind": "lesson", "id": i}}) + "\n" for i in ids))
    return DatasetSnapshot.objects.create(name=name, sha256=name.ljust(64, "0"), format="messages",
                                          path=f"{name}.jsonl", row_count=len(ids), train_count=len(ids),
                                          eval_count=0)


def test_a_promotion_after_a_large_change_in_the_data_waits_for_a_person(settings):
    line = make_line()
    active = make_version(line, status="active", dataset=_snapshot(settings, "a", range(10)))
    grown = make_version(line, dataset=_snapshot(settings, "b", range(12)))
    replaced = make_version(line, dataset=_snapshot(settings, "c", range(5, 25)))
    assert approval_needed(make_evaluation(grown, active, decision=Decision.PROMOTE)) == ""
    why = approval_needed(make_evaluation(replaced, active, decision=Decision.PROMOTE))
    assert why == "v3's training data differs from v1's in 80% of source records (PROFESSOR_APPROVE_DATA_CHANGE 50%)"


def test_a_held_verdict_without_measured_noise_says_how_to_measure_it():
    from professor.cycle import _replica_hint

    evaluation = make_evaluation(make_version(make_line()), None, decision=Decision.HOLD)
    evaluation.verdict.update(insufficient=[], seed_noise={"source": "unknown"})
    assert "train replicas (the same dataset and settings, other seeds; 3 in all)" in _replica_hint(evaluation)
    evaluation.verdict["seed_noise"] = {"exam": 0.1, "assumed": True, "source": "assumed 0.1 nats/token"}
    assert "train replicas" in _replica_hint(evaluation)  # an assumed noise is not a measurement
    evaluation.verdict["seed_noise"] = {"exam": 0.01, "source": "SD across 3 replicas"}
    assert _replica_hint(evaluation) == ""
    evaluation.verdict.update(seed_noise={}, insufficient=["the exam has 6 items"])
    assert _replica_hint(evaluation) == ""
