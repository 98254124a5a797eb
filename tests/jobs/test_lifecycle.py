"""The one job lifecycle: every change is conditional on the current status and moves one row or none."""

import pytest

from curation.models import DatasetBuild
from jobs import lifecycle
from jobs.lifecycle import JobRefused
from jobs.models import JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def build():
    return DatasetBuild.objects.create(name="b", format="alpaca")


def _get(job):
    return DatasetBuild.objects.get(pk=job.pk)


def test_a_claim_starts_the_job_once(build):
    claimed = lifecycle.claim(DatasetBuild, build.pk, worker="w1@host")
    assert claimed.status == JobStatus.RUNNING and claimed.worker == "w1@host" and claimed.attempt == 1
    assert claimed.started_at is not None and claimed.heartbeat_at is not None
    assert lifecycle.claim(DatasetBuild, build.pk, worker="w2@host") is None


def test_progress_is_clamped_and_only_reported_for_a_claimed_job(build):
    assert lifecycle.report_progress(DatasetBuild, build.pk, 0.5) is False  # still queued
    lifecycle.claim(DatasetBuild, build.pk)
    assert lifecycle.report_progress(DatasetBuild, build.pk, 7.0, eta_seconds=3)
    assert (_get(build).progress, _get(build).eta_seconds) == (1.0, 3)


def test_finishing_twice_changes_nothing_the_second_time(build):
    lifecycle.claim(DatasetBuild, build.pk)
    assert lifecycle.finish(DatasetBuild, build.pk)
    assert not lifecycle.fail(DatasetBuild, build.pk, error="late failure")
    done = _get(build)
    assert done.status == JobStatus.SUCCEEDED and done.progress == 1.0 and done.error == ""


def test_a_failure_keeps_the_technical_error_and_a_plain_words_one(build):
    lifecycle.claim(DatasetBuild, build.pk)
    lifecycle.fail(DatasetBuild, build.pk, error="Traceback ...\nKeyError: 'x'")
    failed = _get(build)
    assert failed.status == JobStatus.FAILED and failed.is_terminal and failed.finished_at
    assert failed.error.startswith("Traceback") and failed.human_error == "Traceback ..."


def test_cancel_ends_a_queued_job_at_once_and_flags_a_running_one(build):
    assert lifecycle.cancel(DatasetBuild, build.pk) == JobStatus.CANCELLED
    assert lifecycle.claim(DatasetBuild, build.pk) is None
    running = DatasetBuild.objects.create(name="r", format="alpaca")
    lifecycle.claim(DatasetBuild, running.pk)
    assert lifecycle.heartbeat(DatasetBuild, running.pk) is False
    assert lifecycle.cancel(DatasetBuild, running.pk) == JobStatus.RUNNING
    assert lifecycle.heartbeat(DatasetBuild, running.pk) is True  # the worker sees the flag
    with pytest.raises(JobRefused, match="cancelled"):
        lifecycle.cancel(DatasetBuild, build.pk)


def test_only_failed_or_lost_jobs_are_requeued(build, sent_jobs, django_capture_on_commit_callbacks):
    lifecycle.claim(DatasetBuild, build.pk)
    lifecycle.finish(DatasetBuild, build.pk)
    with pytest.raises(JobRefused, match="succeeded"):
        lifecycle.requeue(DatasetBuild, build.pk)
    failed = DatasetBuild.objects.create(name="f", format="alpaca")
    lifecycle.claim(DatasetBuild, failed.pk)
    lifecycle.fail(DatasetBuild, failed.pk, error="boom")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.requeue(DatasetBuild, failed.pk)
    again = _get(failed)
    assert again.status == JobStatus.QUEUED and again.error == "" and again.human_error == ""
    assert sent_jobs == [("curation.DatasetBuild", failed.pk)]
    assert lifecycle.claim(DatasetBuild, failed.pk).attempt == 2


def test_a_state_change_is_broadcast_to_the_jobs_group_after_commit(build, monkeypatch,
                                                                    django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr("jobs.broadcast.publish_job_events", lambda group, events: sent.append((group, events)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lifecycle.claim(DatasetBuild, build.pk)
    assert sent == []  # nothing is live before it is committed
    for callback in callbacks:
        callback()
    assert sent[0][0] == f"build.{build.pk}" and sent[0][1][0]["status"] == JobStatus.RUNNING
