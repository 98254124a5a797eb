"""The database is the source of truth for queued work: a broker outage or restart strands nothing.

Against a private redis-server that each test starts and stops (persistence off, so a
restart loses every message, as a production Redis without persistence does).
"""

import base64
import json
import logging
from datetime import timedelta

import pytest
import redis
from celery import current_app
from django.utils import timezone

from curation.models import DatasetBuild, MiningJob
from curation.services.datasets import start_build
from curation.services.git_mining import request_mining
from jobs import broadcast, queueing
from jobs.models import JobStatus
from jobs.reaper import reap
from tests.curation.factories import make_lesson, make_repository
from tests.factories import bearer, make_token
from tests.redis_server import private_redis  # noqa: F401 (fixture)
from tests.training.factories import make_snapshot
from training.models import TrainingRun

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(private_redis, monkeypatch, settings):  # noqa: F811
    """Celery publishes to the private Redis; the rate-limited warning starts fresh."""
    monkeypatch.setattr(current_app.conf, "broker_url", private_redis.url)
    queueing._broker_down.reset()
    settings.JOBS_REQUEUE_AFTER_SECONDS = 60
    return private_redis


def messages(url: str, queue: str) -> list[tuple[str, list]]:
    """(task name, args) of every message waiting in a Celery queue on Redis."""
    found = []
    for raw in redis.Redis.from_url(url).lrange(queue, 0, -1):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], body[0]))
    return found


def age_queued(model, pk, seconds=600):
    model.objects.filter(pk=pk).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_queued_work_lost_in_a_redis_restart_is_sent_again_by_the_sweep(broker, bob):
    make_lesson()
    build = start_build(bob, name="restart", format="alpaca", overrides={"sources": ["lessons"]})
    repository = make_repository()
    mining = request_mining(repository, user=bob)
    assert sorted(messages(broker.url, "default")) == [("curation.build_dataset", [build.pk]),
                                                       ("curation.execute_mining", [mining.pk])]

    broker.restart()
    assert messages(broker.url, "default") == []

    age_queued(DatasetBuild, build.pk)
    age_queued(MiningJob, mining.pk)
    report = reap()
    assert report["curation.DatasetBuild"]["requeued"] == [build.pk]
    assert report["curation.MiningJob"]["requeued"] == [mining.pk]
    assert sorted(messages(broker.url, "default")) == [("curation.build_dataset", [build.pk]),
                                                       ("curation.execute_mining", [mining.pk])]
    # A job sent again recently is left alone: no growing pile of duplicates.
    assert reap()["curation.DatasetBuild"]["requeued"] == []


def test_starting_jobs_while_redis_is_down_accepts_them_and_the_sweep_sends_them_later(
        broker, bob, client, caplog):
    make_lesson()
    token = make_token(bob, "Operator")
    snapshot = make_snapshot()
    repository = make_repository()
    broker.stop()

    with caplog.at_level(logging.WARNING, logger="jobs.queueing"):
        build = client.post("/api/v1/datasets", {"name": "down", "format": "alpaca", "sources": ["lessons"]},
                            content_type="application/json", **bearer(token))
        mined = client.post(f"/api/v1/git/repositories/{repository.pk}/mine", {}, content_type="application/json",
                            **bearer(token))
        run = client.post("/api/v1/runs", {"dataset": snapshot.sha256, "base_model": "org/model"},
                          content_type="application/json", **bearer(token))

    assert (build.status_code, mined.status_code, run.status_code) == (202, 202, 201), run.content
    assert [r.levelname for r in caplog.records].count("WARNING") == 1  # rate-limited: one line, not three
    assert "stays queued" in caplog.records[0].getMessage()
    jobs = [(DatasetBuild, build.json()["id"], "default"), (MiningJob, mined.json()["mining"]["id"], "default"),
            (TrainingRun, run.json()["id"], TrainingRun.objects.get().queue_name)]
    for model, pk, _queue in jobs:
        assert model.objects.get(pk=pk).status == JobStatus.QUEUED

    broker.start()
    for model, pk, _queue in jobs:
        age_queued(model, pk)
    reap()
    for model, pk, queue in jobs:
        assert (model.task_name, [pk]) in messages(broker.url, queue)


def test_a_broken_channel_layer_logs_one_traceback_per_interval(settings, caplog, monkeypatch):
    settings.LIVE_BATCH_WINDOW_MS = 0
    broadcast._send_failed.reset()

    class FakeBrokenLayer:
        async def group_send(self, group, message):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: FakeBrokenLayer())
    with caplog.at_level(logging.WARNING, logger="jobs.broadcast"):
        for step in range(30):
            broadcast.publish_job_events("run.999", [{"event": "metric", "step": step, "loss": 1.0, "ts": 1.0}])
            broadcast.flush(2.0)
    failures = [r for r in caplog.records if "live broadcast failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None
