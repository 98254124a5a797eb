"""A run's live messages: one chart point shape, one time shape, and a broadcaster that knows no kind of job."""

import json

import pytest
from django.utils import timezone

from jobs import broadcast
from tests.training.factories import make_run
from training.ingest import RunIngestor
from training.live_events import RUN_EVENTS, event_point
from training.live_snapshot import load_snapshot
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


def test_a_point_reads_back_from_the_database_in_the_shape_it_went_out_live(monkeypatch):
    monkeypatch.setattr("jobs.broadcast.publish_job_events", lambda group, events: None)
    run = make_run()
    lines = [{"event": "metric", "step": 1, "epoch": 0.5, "loss": 1.5, "lr": 0.001, "ts": 100.0},
             {"event": "eval", "step": 1, "epoch": 0.5, "eval_loss": 1.25, "ts": 101.0}]
    ingestor = RunIngestor(run)
    for line in lines:
        ingestor.feed(json.dumps(line))
    ingestor.flush()
    assert load_snapshot(run.pk)["points"] == [event_point(line) for line in lines]


def test_the_snapshot_gives_the_runs_times_as_its_job_status_does():
    run = make_run(started_at=timezone.now(), finished_at=timezone.now())
    run = TrainingRun.objects.get(pk=run.pk)
    state, status = load_snapshot(run.pk)["run"], run.status_payload()
    assert isinstance(state["started_at"], str)
    assert (state["started_at"], state["finished_at"]) == (status["started_at"], status["finished_at"])


def test_the_run_kind_is_registered_and_a_group_without_one_refuses_raw_events():
    assert broadcast.EVENT_KINDS[TrainingRun.group_prefix] is RUN_EVENTS
    with pytest.raises(ValueError, match="no EventKind is registered for group 'build.5'"):
        broadcast.publish_job_events("build.5", [{"event": "metric", "step": 1}])
