"""The one reaper: stale claimed jobs of every kind become lost, queued ones are sent again, leftovers go."""

import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from curation.models import DatasetBuild, MiningJob
from jobs import lifecycle
from jobs.models import JobStatus
from jobs.reaper import reap
from jobs.tasks import reap_task
from tests.curation.factories import make_repository
from tests.training.factories import make_snapshot
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


def _age(model, pk, seconds, **fields):
    when = timezone.now() - timedelta(seconds=seconds)
    model.objects.filter(pk=pk).update(heartbeat_at=when, **fields)


def _build(status=JobStatus.QUEUED):
    build = DatasetBuild.objects.create(name="b", format="alpaca", status=status)
    if status != JobStatus.QUEUED:
        DatasetBuild.objects.filter(pk=build.pk).update(started_at=timezone.now())
    return build


def test_claimed_jobs_of_every_kind_without_a_sign_of_life_become_lost(settings, sent_jobs):
    settings.CURATION_STALE_JOB_SECONDS = 600
    settings.TRAINING_LOST_AFTER_SECONDS = 60
    stale_build, fresh_build = _build(JobStatus.RUNNING), _build(JobStatus.RUNNING)
    _age(DatasetBuild, stale_build.pk, 700)
    mining = MiningJob.objects.create(repository=make_repository(), status=JobStatus.RUNNING)
    _age(MiningJob, mining.pk, 601)
    run = TrainingRun.objects.create(dataset=make_snapshot(), base_model="org/m", status=JobStatus.PREPARING)
    _age(TrainingRun, run.pk, 120)

    report = reap_task()

    assert report["curation.DatasetBuild"]["lost"] == [stale_build.pk]
    assert report["curation.MiningJob"]["lost"] == [mining.pk]
    assert report["training.TrainingRun"]["lost"] == [run.pk]
    stale_build.refresh_from_db()
    assert stale_build.status == JobStatus.LOST and "start it again" in stale_build.human_error
    assert stale_build.finished_at is not None
    assert DatasetBuild.objects.get(pk=fresh_build.pk).status == JobStatus.RUNNING
    assert "retry" in TrainingRun.objects.get(pk=run.pk).human_error
    # The repository is free again: a lost mining is no longer active.
    assert not mining.repository.is_mining


def test_finished_jobs_are_never_touched(settings, sent_jobs):
    settings.CURATION_STALE_JOB_SECONDS = 600
    done = _build(JobStatus.SUCCEEDED)
    _age(DatasetBuild, done.pk, 5000)
    assert reap()["curation.DatasetBuild"]["lost"] == []
    assert DatasetBuild.objects.get(pk=done.pk).status == JobStatus.SUCCEEDED


def test_the_sweep_sends_queued_jobs_again_once_their_message_may_be_lost(settings, sent_jobs):
    settings.JOBS_REQUEUE_AFTER_SECONDS = 120
    old, recent = _build(), _build()
    _age(DatasetBuild, old.pk, 300)
    _age(DatasetBuild, recent.pk, 10)

    assert reap()["curation.DatasetBuild"]["requeued"] == [old.pk]
    assert sent_jobs == [("curation.DatasetBuild", old.pk)]
    # The re-send counts as its last enqueue: the next sweep waits again.
    assert reap()["curation.DatasetBuild"]["requeued"] == []
    assert DatasetBuild.objects.get(pk=old.pk).status == JobStatus.QUEUED


def test_a_swept_job_that_runs_twice_is_executed_once(settings, sent_jobs):
    """The duplicate message finds the row claimed and does nothing."""
    build = _build()
    assert lifecycle.claim(DatasetBuild, build.pk, worker="w1") is not None
    assert lifecycle.claim(DatasetBuild, build.pk, worker="w2") is None
    assert DatasetBuild.objects.get(pk=build.pk).attempt == 1


def test_it_removes_only_old_half_written_dataset_files(settings, sent_jobs):
    settings.CURATION_STALE_JOB_SECONDS = 600
    folder = settings.DATA_DIR / "datasets"
    folder.mkdir()
    old, new, snapshot = folder / ".build-old.tmp", folder / ".build-new.tmp", folder / ("a" * 64 + ".jsonl")
    for path in (old, new, snapshot):
        path.write_text("{}\n")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    os.utime(snapshot, (hour_ago, hour_ago))

    assert reap()["curation.DatasetBuild"]["removed"] == [".build-old.tmp"]
    assert not old.exists() and new.exists() and snapshot.exists()
