"""Holdouts: frozen copies of approved records that no dataset, and so no version, is ever trained on."""

import json

import pytest

import arena.evaluation
from arena.holdouts import HoldoutError, freeze_holdout
from arena.models import Evaluation
from curation.models import DatasetSnapshot
from curation.services.datasets import run_build, start_build
from tests.arena.factories import make_exam
from tests.curation.factories import make_commit_example, make_conversation, make_lesson
from tests.models_registry.factories import make_line, make_version

pytestmark = pytest.mark.django_db


def _build(name="ds"):
    return run_build(start_build(None, name=name, format="messages", queue=False).pk)


def _rows(snapshot, settings):
    return [json.loads(line) for line in (settings.DATA_DIR / snapshot.path).read_text().splitlines()]


def _records():
    return [make_lesson() for _ in range(6)] + [make_conversation() for _ in range(3)] + [make_commit_example()]


def test_held_out_records_never_enter_a_later_dataset(settings):
    records = _records()
    holdout = freeze_holdout(make_line(), size=5, seed=3)
    held = {(i.source_kind, i.source_id) for i in holdout.items.all()}
    assert len(held) == 5

    build = _build()

    rows = {(r["source"]["kind"], r["source"]["id"]) for r in _rows(build.snapshot, settings)}
    assert rows and not rows & held
    assert len(rows) == len(records) - 5


def test_a_holdout_takes_only_records_no_version_of_the_line_was_trained_on(settings):
    _records()
    line = make_line()
    snapshot = _build("v1 data").snapshot
    trained = {(r["source"]["kind"], r["source"]["id"]) for r in _rows(snapshot, settings)}
    make_version(line, dataset=snapshot)
    fresh = [make_lesson() for _ in range(3)]

    holdout = freeze_holdout(line, size=50)

    assert {(i.source_kind, i.source_id) for i in holdout.items.all()} == {("lesson", r.pk) for r in fresh}
    assert not {(i.source_kind, i.source_id) for i in holdout.items.all()} & trained


def test_a_second_holdout_never_reuses_held_out_records_and_a_line_with_nothing_left_is_told():
    _records()
    line = make_line()
    first = freeze_holdout(line, size=6)
    second = freeze_holdout(line, size=50)
    assert second.version == 2
    assert not {i.content_key for i in first.items.all()} & {i.content_key for i in second.items.all()}
    with pytest.raises(HoldoutError, match="no approved record"):
        freeze_holdout(line, size=1)


def test_the_holdout_is_a_frozen_copy_that_later_edits_do_not_change():
    lesson = make_lesson("How do I clear the cache?", "Run make clean.")
    holdout = freeze_holdout(make_line(), size=1)
    lesson.action = "Something else entirely."
    lesson.save()
    item = holdout.items.get()
    assert item.answer == "Run make clean." and item.messages[-1]["content"] == "How do I clear the cache?"


def test_an_evaluation_leaves_out_holdout_items_a_compared_model_was_trained_on(settings):
    lessons = [make_lesson() for _ in range(4)]
    line = make_line()
    holdout = freeze_holdout(line, size=4)
    # A version registered from elsewhere whose snapshot predates the holdout and contains one of its records.
    (settings.DATA_DIR / "old.jsonl").write_text(json.dumps({
        "messages": [], "split": "train", "source": {"kind": "lesson", "id": lessons[0].pk}}) + "\n")
    old = DatasetSnapshot.objects.create(name="old", sha256="d" * 64, format="messages", path="old.jsonl",
                                         row_count=1, train_count=1, eval_count=0)
    candidate = make_version(line, dataset=old)
    evaluation = Evaluation.objects.create(line=line, candidate=candidate, exam=make_exam(line), holdout=holdout)

    questions, context = arena.evaluation.questions(evaluation)

    held_keys = {q.key for q in questions if q.kind == "holdout"}
    assert f"lesson:{lessons[0].pk}" not in held_keys and len(held_keys) == 3
    assert context["holdout"] == {"version": 1, "items": 3, "excluded_as_trained_on": 1}
