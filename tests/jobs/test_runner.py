"""The one job runner: claim once, report progress (throttled, a cancel stops it), end every way the same."""

import logging

import pytest

from curation.models import DatasetBuild
from jobs import lifecycle
from jobs.lifecycle import ERROR_CHARS, HUMAN_ERROR_CHARS
from jobs.models import JobStatus
from jobs.runner import JobFailed, JobRunner

pytestmark = pytest.mark.django_db


class StepsRunner(JobRunner):
    """Runs `steps` (callables taking the job and the progress) and records what ran."""

    model = DatasetBuild
    progress_every = 0.0

    def __init__(self, pk, steps, outcome=None, **kwargs):
        super().__init__(pk, **kwargs)
        self.steps, self.outcome, self.ran = steps, outcome, []

    def run(self, job, progress):
        for step in self.steps:
            step(job, progress)
            self.ran.append(step)
        return self.outcome


@pytest.fixture
def build():
    return DatasetBuild.objects.create(name="b", format="alpaca")


def _get(job):
    return DatasetBuild.objects.get(pk=job.pk)


def _report(fraction, **fields):
    return lambda job, progress: progress(fraction, **fields)


def _crash(job, progress):
    raise RuntimeError("the disk went away")


def test_a_job_that_runs_through_succeeds_with_its_outcome(build):
    runner = StepsRunner(build.pk, [_report(0.5)], outcome={"funnel": {"kept": 3}}, worker="w@host")
    done = runner.handle()
    assert done.status == JobStatus.SUCCEEDED and done.progress == 1.0 and done.worker == "w@host"
    assert done.funnel == {"kept": 3} and done.error == "" and done.human_error == ""


def test_a_second_claim_does_nothing(build):
    first = StepsRunner(build.pk, [_report(0.5)])
    assert first.handle().status == JobStatus.SUCCEEDED
    second = StepsRunner(build.pk, [_report(0.5)])
    assert second.handle() is None
    assert second.ran == [] and _get(build).attempt == 1


def test_a_cancelled_queued_job_is_never_run(build):
    lifecycle.cancel(DatasetBuild, build.pk)
    runner = StepsRunner(build.pk, [_report(0.5)])
    assert runner.handle() is None and runner.ran == []


def test_a_cancel_requested_while_it_runs_stops_it_at_the_next_progress(build):
    def cancel(job, progress):
        assert lifecycle.cancel(DatasetBuild, job.pk) == JobStatus.RUNNING  # flagged, still running

    runner = StepsRunner(build.pk, [_report(0.2), cancel, _report(0.4), _report(0.6)])
    done = runner.handle()
    assert done.status == JobStatus.CANCELLED and done.human_error == "cancelled" and done.finished_at
    assert len(runner.ran) == 2  # the report after the cancel raised; nothing after it ran
    assert done.progress == 0.4  # that report was stored, then the flag was read


def test_a_crash_fails_the_job_in_plain_words_and_logs_the_traceback(build, caplog):
    with caplog.at_level(logging.ERROR, logger="jobs.runner"):
        done = StepsRunner(build.pk, [_report(0.3), _crash]).handle()
    assert done.status == JobStatus.FAILED and done.finished_at
    assert done.error == "RuntimeError: the disk went away"
    assert done.human_error == "the dataset build failed on an internal error; see the error details"
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert f"dataset build {build.pk} crashed" in logged
    assert "Traceback" in logged and "_crash" in logged and "the disk went away" in logged


def test_an_expected_failure_stores_its_own_words_and_fields(build):
    def refuse(job, progress):
        raise JobFailed("no approved examples to build from", error="stage 'sources': 0 rows",
                        funnel={"sources": 0})

    done = StepsRunner(build.pk, [refuse]).handle()
    assert done.status == JobStatus.FAILED and done.human_error == "no approved examples to build from"
    assert done.error == "stage 'sources': 0 rows" and done.funnel == {"sources": 0}


def test_progress_reports_closer_than_the_interval_are_skipped_but_the_last_one_is_not(build):
    stored = []

    def read(job, progress):
        stored.append(_get(job).progress)

    runner = StepsRunner(build.pk, [_report(0.25), read, _report(0.5), read, _report(1.0), read])
    runner.progress_every = 3600
    runner.handle()
    assert stored == [0.25, 0.25, 1.0]


def test_progress_stores_its_fields(build):
    seen = {}

    def read(job, progress):
        seen.update(DatasetBuild.objects.filter(pk=job.pk).values("progress", "eta_seconds").get())

    StepsRunner(build.pk, [_report(0.5, eta_seconds=12.0), read]).handle()
    assert seen == {"progress": 0.5, "eta_seconds": 12.0}


def test_a_long_error_keeps_its_end_and_a_long_plain_words_one_its_start(build):
    def refuse(job, progress):
        raise JobFailed("why " + "w" * 1000, error="head " + "x" * 30000 + " the cause")

    done = StepsRunner(build.pk, [refuse]).handle()
    assert len(done.error) == ERROR_CHARS and done.error.endswith("x the cause")
    assert len(done.human_error) == HUMAN_ERROR_CHARS and done.human_error.startswith("why w")
