import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from curation.models import CommitExample, Conversation, DatasetBuild, DatasetSnapshot, Lesson, ReviewStatus
from curation.services.datasets import run_build, start_build
from curation.tasks.datasets import build_dataset_task
from jobs.models import JobStatus
from tests.curation.factories import make_commit_example, make_conversation, make_lesson

pytestmark = pytest.mark.django_db

MODELS = {"lesson": Lesson, "commit": CommitExample, "conversation": Conversation}


def _build(fmt="alpaca", name="ds", **overrides):
    build = start_build(None, name=name, format=fmt, overrides=overrides, queue=False)
    return run_build(build.pk)


def _rows(snapshot, settings):
    path = settings.DATA_DIR / snapshot.path
    return [json.loads(line) for line in path.read_text().splitlines()]


def _mixed_sources():
    make_lesson()
    make_lesson()
    make_commit_example()
    make_conversation()


def test_it_builds_a_snapshot_addressed_by_its_sha256(settings):
    _mixed_sources()
    build = _build()
    assert build.status == JobStatus.SUCCEEDED, build.error
    snapshot = build.snapshot
    assert snapshot.path == f"datasets/{snapshot.sha256}.jsonl"
    import hashlib
    assert hashlib.sha256((settings.DATA_DIR / snapshot.path).read_bytes()).hexdigest() == snapshot.sha256
    assert snapshot.row_count == 4 == snapshot.train_count + snapshot.eval_count
    assert snapshot.eval_count >= 1
    assert snapshot.stats["per_source"] == {"commit": 1, "conversation": 1, "lesson": 2}


def test_each_row_traces_to_a_real_approved_record(settings):
    _mixed_sources()
    snapshot = _build("messages").snapshot
    for row in _rows(snapshot, settings):
        record = MODELS[row["source"]["kind"]].objects.get(pk=row["source"]["id"])
        assert record.review_status == ReviewStatus.APPROVED
        assert row["split"] in ("train", "eval")
    kinds = {row["source"]["kind"]: row["source"]["ref"] for row in _rows(snapshot, settings)}
    assert kinds["commit"] == CommitExample.objects.get().commit_sha


def test_only_approved_examples_enter_the_dataset(settings):
    kept = make_lesson()
    make_lesson(status=ReviewStatus.PENDING)
    make_lesson(status=ReviewStatus.REJECTED)
    make_lesson()
    rows = _rows(_build(sources="lessons").snapshot, settings)
    assert len(rows) == 2
    assert kept.pk in {row["source"]["id"] for row in rows}


def test_same_inputs_and_config_give_the_same_snapshot(settings):
    _mixed_sources()
    first = _build(name="a")
    second = _build(name="b")
    assert first.snapshot_id == second.snapshot_id
    assert DatasetSnapshot.objects.count() == 1
    third = _build(name="c", split={"seed": 7})
    fourth = _build(name="d", split={"seed": 7})
    assert third.snapshot.sha256 == fourth.snapshot.sha256
    assert len(list((settings.DATA_DIR / "datasets").iterdir())) == DatasetSnapshot.objects.count()


def test_adding_examples_keeps_the_split_of_existing_ones(settings):
    lessons = [make_lesson() for _ in range(8)]
    before = {r["source"]["id"]: r["split"] for r in _rows(_build(sources="lessons").snapshot, settings)}
    lessons.append(make_lesson())
    after = {r["source"]["id"]: r["split"] for r in _rows(_build(sources="lessons").snapshot, settings)}
    moved = [pk for pk, split in before.items() if after[pk] != split]
    assert len(moved) <= 1  # only the "at least one eval row" rule may move one


def test_a_build_with_no_examples_fails_naming_the_stage(settings):
    build = _build(sources="lessons")
    assert build.status == JobStatus.FAILED
    assert "sources" in build.error
    assert DatasetSnapshot.objects.count() == 0


def test_a_build_whose_filters_remove_everything_fails_and_leaves_no_file(settings):
    make_lesson(result="PORAŻKA: tests still red")
    make_lesson("short", "tiny")
    build = _build(sources="lessons")
    assert build.status == JobStatus.FAILED
    assert "stage 'filters' removed every example" in build.error
    assert "failed_outcome: 1" in build.error and "too_short: 1" in build.error
    assert build.funnel[-1]["stage"] == "filters"
    assert DatasetSnapshot.objects.count() == 0
    folder = settings.DATA_DIR / "datasets"
    assert not folder.exists() or not any(folder.iterdir())


def test_the_funnel_counts_drops_per_stage_with_reasons_and_samples(settings):
    make_lesson()
    make_lesson(result="❌ failed")
    build = _build(sources="lessons")
    stages = {s["stage"]: s for s in build.funnel}
    assert list(stages) == ["sources", "secrets", "filters", "exact_dedup", "near_dedup", "mix"]
    assert stages["filters"]["reasons"] == {"failed_outcome": 1}
    assert stages["filters"]["kept"] == 1 and stages["filters"]["dropped"] == 1
    assert stages["filters"]["samples"][0]["reason"] == "failed_outcome"


def test_the_task_is_safe_to_repeat():
    make_lesson()
    build = start_build(None, name="x", format="alpaca", overrides={"sources": ["lessons"]}, queue=False)
    assert build_dataset_task(build.pk) == JobStatus.SUCCEEDED
    assert build_dataset_task(build.pk) is None
    assert DatasetSnapshot.objects.count() == 1


def test_start_build_queues_the_task_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("jobs.queueing.send", lambda model, pk: queued.append(pk) or True)
    with django_capture_on_commit_callbacks(execute=True):
        build = start_build(None, name="x", format="sharegpt")
    assert queued == [build.pk]
    assert build.status == JobStatus.QUEUED


def test_it_rejects_a_bad_configuration_and_records_nothing():
    with pytest.raises(ValidationError) as caught:
        start_build(None, name="", format="csv", overrides={"sources": ["mail"], "dedup": {"num_perm": 3}})
    text = " ".join(caught.value.messages)
    assert "'name' is required" in text and "unknown format 'csv'" in text
    assert "unknown source(s) mail" in text and "dedup.num_perm" in text
    assert DatasetBuild.objects.count() == 0


def test_the_command_prints_hash_and_path(capsys, settings):
    make_lesson()
    make_lesson()
    call_command("build_dataset", "--name", "cli", "--format", "sharegpt", "--sources", "lessons", "--seed", "3")
    sha, path = capsys.readouterr().out.split()
    snapshot = DatasetSnapshot.objects.get()
    assert sha == snapshot.sha256 and path == str(settings.DATA_DIR / snapshot.path)
    assert snapshot.config["split"]["seed"] == 3


def test_the_command_exits_non_zero_with_the_reason():
    with pytest.raises(CommandError, match="stage 'sources' found no approved examples"):
        call_command("build_dataset", "--name", "cli", "--format", "alpaca", "--sources", "commits")


def test_newer_duplicate_wins_across_builds(settings):
    old = make_lesson("Deploy failed due to a stale cache in CI", "Clear the cache and rerun",
                      occurred_at=timezone.now() - timedelta(days=2))
    new = make_lesson("Deploy failed due to a stale cache in CI", "Clear the cache and rerun")
    rows = _rows(_build(sources="lessons").snapshot, settings)
    assert [r["source"]["id"] for r in rows] == [new.pk]
    assert old.pk != new.pk


def test_the_service_refuses_a_build_to_a_role_that_cannot_build(carol):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied, match="this needs the Operator role"):
        start_build(carol, name="not mine to build", format="alpaca")
    assert not DatasetBuild.objects.exists()
