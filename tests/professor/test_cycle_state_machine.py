"""The cycle waits for its jobs without a worker: it lives as long as the job it waits for, goes on (or
ends with a plain reason) when that job ends, and a cancel reaches the job."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from curation.models import DatasetBuild
from jobs import lifecycle
from jobs.models import JobStatus
from professor import journal
from professor.cycle import cancel_cycle, start_cycle
from professor.models import Cycle, Outcome, StepOutcome, Waiting
from tests.professor.factories import make_run, make_snapshot_row
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


def _cycle_waiting_for(job, waiting: str, step: str) -> Cycle:
    """A claimed cycle that started `job` and waits for it, as the cycle's own step leaves it."""
    cycle = start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="celery@professor")
    journal.write(cycle.pk, step, StepOutcome.STARTED, f"started {job.group_prefix} {job.pk}", job=job)
    Cycle.objects.filter(pk=cycle.pk).update(waiting_for=waiting, waiting_kind=job.group_prefix, waiting_id=job.pk)
    return Cycle.objects.get(pk=cycle.pk)


def _running_run() -> TrainingRun:
    run = make_run(make_snapshot_row(60), status=JobStatus.QUEUED)
    lifecycle.claim(TrainingRun, run.pk, worker="celery@gpu-1")
    return run


def _heartbeats(model, pk, at) -> None:
    model.objects.filter(pk=pk).update(heartbeat_at=at)


def test_a_cycle_waiting_for_its_run_outlives_the_reaper_while_the_run_heartbeats(django_capture_on_commit_callbacks):
    run = _running_run()
    cycle = _cycle_waiting_for(run, Waiting.TRAINING, "training")
    later = timezone.now() + timedelta(seconds=settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS * 3)
    _heartbeats(TrainingRun, run.pk, later - timedelta(seconds=1))  # the run's worker reports; the cycle has none
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.reap_stale(Cycle, now=later) == []
        assert lifecycle.reap_stale(TrainingRun, now=later) == []
    cycle.refresh_from_db()
    assert (cycle.status, cycle.outcome) == ("running", Outcome.PENDING)


def test_a_cycle_fails_with_a_plain_reason_when_its_run_is_reaped_lost(django_capture_on_commit_callbacks):
    run = _running_run()
    cycle = _cycle_waiting_for(run, Waiting.TRAINING, "training")
    later = timezone.now() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.reap_stale(TrainingRun, now=later) == [run.pk]  # its worker died
    cycle.refresh_from_db()
    assert (cycle.status, cycle.outcome) == ("failed", Outcome.FAILED)
    assert cycle.human_error.startswith(f"training: run {run.pk} lost: ")
    last = cycle.journal.order_by("-id").first()
    assert (last.step, last.outcome) == ("training", StepOutcome.FAILED)
    assert last.message.startswith(f"run {run.pk} lost: ")
    assert lifecycle.reap_stale(Cycle, now=later) == []  # ended by its run's hook, not reaped itself


def test_a_cycle_whose_run_ended_but_never_advanced_it_is_reaped_lost(django_capture_on_commit_callbacks):
    run = _running_run()
    cycle = _cycle_waiting_for(run, Waiting.TRAINING, "training")
    TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    # The run's end never reached the cycle (its worker died between the commit and the hook).
    soon = timezone.now() + timedelta(seconds=settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS / 2)
    assert lifecycle.reap_stale(Cycle, now=soon) == []  # it ended a moment ago: the hook may still come
    later = timezone.now() + timedelta(seconds=settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS + 5)
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.reap_stale(Cycle, now=later) == [cycle.pk]
    last = cycle.journal.order_by("-id").first()
    assert last.message.startswith("lost: its worker stopped reporting")


def test_a_failed_build_ends_the_cycle_with_the_builds_reason(django_capture_on_commit_callbacks):
    build = DatasetBuild.objects.create(name="professor-cycle", format="messages", config={})
    lifecycle.claim(DatasetBuild, build.pk, worker="celery@default")
    cycle = _cycle_waiting_for(build, Waiting.DATASET, "dataset")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.fail(DatasetBuild, build.pk, error="no approved examples match the filters")
    cycle.refresh_from_db()
    assert (cycle.status, cycle.outcome) == ("failed", Outcome.FAILED)
    assert cycle.human_error == "dataset: the dataset build failed: no approved examples match the filters"
    assert (cycle.waiting_kind, cycle.waiting_id) == ("", None)


def test_cancelling_a_cycle_cancels_its_running_run_and_the_cycle_ends_when_the_run_stops(
        django_capture_on_commit_callbacks):
    run = _running_run()
    cycle = _cycle_waiting_for(run, Waiting.TRAINING, "training")
    with django_capture_on_commit_callbacks(execute=True):
        assert cancel_cycle(cycle.pk) == "running"
    run.refresh_from_db()
    cycle.refresh_from_db()
    assert run.cancel_requested and cycle.cancel_requested and cycle.status == "running"
    with django_capture_on_commit_callbacks(execute=True):  # the run's worker sees the flag and stops
        lifecycle.finish(TrainingRun, run.pk, status=JobStatus.CANCELLED, human_error="cancelled")
    cycle.refresh_from_db()
    assert (cycle.status, cycle.outcome) == ("cancelled", Outcome.FAILED)
    assert cycle.summary == "cancelled on request; nothing was promoted"


def test_cancelling_a_cycle_whose_job_is_still_queued_ends_both_at_once(django_capture_on_commit_callbacks):
    run = make_run(make_snapshot_row(60), status=JobStatus.QUEUED)
    cycle = _cycle_waiting_for(run, Waiting.TRAINING, "training")
    with django_capture_on_commit_callbacks(execute=True):
        cancel_cycle(cycle.pk)
    run.refresh_from_db()
    cycle.refresh_from_db()
    assert run.status == "cancelled"
    assert (cycle.status, cycle.summary) == ("cancelled", "cancelled on request; nothing was promoted")


def test_the_reaper_takes_up_a_cycle_whose_jobs_end_never_reached_it(django_capture_on_commit_callbacks):
    from jobs.reaper import reap

    build = DatasetBuild.objects.create(name="professor-cycle", format="messages", config={})
    lifecycle.claim(DatasetBuild, build.pk, worker="celery@default")
    cycle = _cycle_waiting_for(build, Waiting.DATASET, "dataset")
    # The build fails, and its worker dies before the after-commit hook that advances the cycle runs.
    lifecycle.fail(DatasetBuild, build.pk, error="no approved examples match the filters")
    ended = DatasetBuild.objects.get(pk=build.pk).finished_at
    grace = settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS / 2
    with django_capture_on_commit_callbacks(execute=True):
        assert reap(now=ended + timedelta(seconds=grace - 5))["professor.Cycle"]["resumed"] == []  # the hook may come
    assert Cycle.objects.get(pk=cycle.pk).status == "running"
    with django_capture_on_commit_callbacks(execute=True):
        assert reap(now=ended + timedelta(seconds=grace + 5))["professor.Cycle"]["resumed"] == [cycle.pk]
    cycle.refresh_from_db()
    assert (cycle.status, cycle.outcome) == ("failed", Outcome.FAILED)  # as its hook would have ended it
    assert cycle.human_error == "dataset: the dataset build failed: no approved examples match the filters"
    assert (cycle.waiting_kind, cycle.waiting_id) == ("", None)
    with django_capture_on_commit_callbacks(execute=True):
        assert reap(now=ended + timedelta(seconds=grace + 10))["professor.Cycle"]["resumed"] == []  # once
