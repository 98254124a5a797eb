import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from curation.models import BuildStatus, DatasetBuild, GitRepository, MiningStatus
from curation.services.housekeeping import fail_stale_jobs
from curation.tasks.housekeeping import fail_stale_jobs_task
from tests.curation.factories import make_repository


def _build(status, *, started_ago=None, created_ago=0):
    build = DatasetBuild.objects.create(name="b", format="alpaca", status=status)
    now = timezone.now()
    DatasetBuild.objects.filter(pk=build.pk).update(
        created_at=now - timedelta(seconds=created_ago),
        started_at=None if started_ago is None else now - timedelta(seconds=started_ago))
    return build


@pytest.mark.django_db
def test_it_fails_builds_abandoned_by_their_worker(settings):
    settings.CURATION_STALE_JOB_SECONDS = 600
    stale_running = _build(BuildStatus.RUNNING, started_ago=700, created_ago=700)
    stale_queued = _build(BuildStatus.QUEUED, created_ago=900)
    fresh_running = _build(BuildStatus.RUNNING, started_ago=30, created_ago=30)
    finished = _build(BuildStatus.SUCCEEDED, started_ago=5000, created_ago=5000)

    assert fail_stale_jobs()["builds"] == 2

    statuses = {b.pk: (b.status, b.error) for b in DatasetBuild.objects.all()}
    assert statuses[stale_running.pk][0] == BuildStatus.FAILED
    assert "abandoned" in statuses[stale_running.pk][1]
    assert statuses[stale_queued.pk][0] == BuildStatus.FAILED
    assert statuses[fresh_running.pk][0] == BuildStatus.RUNNING
    assert statuses[finished.pk] == (BuildStatus.SUCCEEDED, "")


@pytest.mark.django_db
def test_it_fails_a_mining_with_no_sign_of_life_and_frees_the_repository(settings):
    settings.CURATION_STALE_JOB_SECONDS = 600
    stale = make_repository(path="/tmp/stale", status=MiningStatus.RUNNING,
                            active_at=timezone.now() - timedelta(seconds=601))
    alive = make_repository(path="/tmp/alive", status=MiningStatus.RUNNING, active_at=timezone.now())

    assert fail_stale_jobs_task()["minings"] == 1

    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == MiningStatus.FAILED and "start it again" in stale.error
    assert not stale.is_mining
    assert alive.status == MiningStatus.RUNNING
    assert GitRepository.objects.filter(status=MiningStatus.FAILED).count() == 1


@pytest.mark.django_db
def test_it_removes_only_old_half_written_dataset_files(settings):
    settings.CURATION_STALE_JOB_SECONDS = 600
    folder = settings.DATA_DIR / "datasets"
    folder.mkdir()
    old = folder / ".build-old.tmp"
    new = folder / ".build-new.tmp"
    snapshot = folder / ("a" * 64 + ".jsonl")
    for path in (old, new, snapshot):
        path.write_text("{}\n")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    os.utime(snapshot, (hour_ago, hour_ago))

    assert fail_stale_jobs()["temp_files"] == 1
    assert not old.exists() and new.exists() and snapshot.exists()
