"""Holdouts by content: a twin of a held-out record (sent again with another result, or re-worded a little)
never enters a dataset build, an evaluation leaves it out when a compared version trained on it, and a
holdout emptied by such exclusions holds the verdict with the reason."""

import json

import pytest

import arena.evaluation
from arena.holdouts import TwinIndex, freeze_holdout, normalise
from arena.models import Evaluation
from arena.policy import decide
from curation.models import DatasetSnapshot
from curation.services.datasets import run_build, start_build
from tests.arena.factories import make_exam
from tests.arena.test_policy_verdicts import rows
from tests.curation.factories import make_lesson
from tests.models_registry.factories import make_line, make_version

pytestmark = pytest.mark.django_db

PROMPT = "The nightly deploy failed because the migration lock was held by a crashed worker process."
ANSWER = "Release the advisory lock with pg_advisory_unlock_all, then rerun the migration job."


def _built_sources(settings):
    build = run_build(start_build(None, name="ds", format="messages", queue=False).pk)
    lines = (settings.DATA_DIR / build.snapshot.path).read_text().splitlines()
    return {(r["source"]["kind"], r["source"]["id"]) for r in map(json.loads, lines)}


def test_normalising_folds_case_punctuation_and_spacing():
    assert normalise("  Use LS,  to list!\nfiles ") == normalise("use ls to list files")


def test_a_resent_twin_and_a_near_copy_of_a_held_out_record_stay_out_of_builds(settings):
    held = make_lesson(PROMPT, ANSWER, result="SUKCES: the deploy went through")
    others = [make_lesson() for _ in range(4)]
    freeze_holdout(make_line(), size=5, seed=0)  # takes everything there is so far
    twin = make_lesson(PROMPT, ANSWER, result="SUKCES: worked on the second try")  # other result, same lesson
    near = make_lesson(PROMPT.replace("nightly", "Nightly") + " Again.", ANSWER)
    fresh = make_lesson("The linter fails on a trailing comma in setup.cfg.", "Remove the trailing comma.")

    built = _built_sources(settings)

    assert ("lesson", fresh.pk) in built
    assert not {("lesson", r.pk) for r in (held, twin, near, *others)} & built


def test_an_unrelated_record_is_not_called_a_twin(settings):
    index = TwinIndex([(1, PROMPT, ANSWER)])
    assert index.find(PROMPT.upper(), ANSWER + "!") == 1
    assert index.find("The nightly backup failed because the disk was full.", "Free some disk space.") is None


def test_an_evaluation_leaves_out_holdout_items_whose_twin_a_compared_version_trained_on(settings):
    make_lesson(PROMPT, ANSWER)
    make_lesson("How do I clear the cache?", "Run make clean.")
    line = make_line()
    holdout = freeze_holdout(line, size=2)
    # A snapshot with a copy of the held-out lesson under another source id (a re-sent record).
    (settings.DATA_DIR / "twin.jsonl").write_text(json.dumps({
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT},
                     {"role": "assistant", "content": ANSWER}],
        "split": "train", "source": {"kind": "lesson", "id": 999_999}}) + "\n")
    snapshot = DatasetSnapshot.objects.create(name="twin", sha256="c" * 64, format="messages", path="twin.jsonl",
                                              row_count=1, train_count=1, eval_count=0)
    candidate = make_version(line, dataset=snapshot)
    evaluation = Evaluation.objects.create(line=line, candidate=candidate, exam=make_exam(line), holdout=holdout)

    questions, context = arena.evaluation.questions(evaluation)

    assert [q.reference for q in questions if q.kind == "holdout"] == ["Run make clean."]
    assert context["holdout"] == {"version": 1, "items": 1, "excluded_as_trained_on": 1}


def test_a_holdout_emptied_by_exclusions_holds_the_verdict():
    context = {"holdout": {"version": 2, "items": 0, "excluded_as_trained_on": 30}}
    verdict = decide(rows(n=40), candidate="v3", against="v2", context=context)
    assert verdict["decision"] == "hold"
    assert verdict["reasons"][0].startswith("insufficient evidence: the holdout is empty: all 30 of its examples "
                                            "were left out because a compared version was trained on them")
