"""A run no worker can take says so: at start (API warnings, run page), on its page while it waits,
and with a note when no registered worker could ever take it; the sweep keeps one message per run."""

from datetime import timedelta

import pytest
import redis
from celery import current_app
from django.utils import timezone

from jobs import lifecycle, queueing
from jobs.models import JobStatus
from tests.factories import PASSWORD, bearer, make_token
from tests.redis_server import private_redis  # noqa: F401 (fixture)
from tests.training.factories import make_snapshot
from training import services, worker_host
from training.models import TrainingRun, TrainingWorker

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
CPU = [{"kind": "cpu", "label": "cpu (4 cores)", "memory_total_mb": 16000}]
GPU = [{"kind": "gpu", "name": "NVIDIA L4", "memory_total_mb": 23034}, *CPU]


def _worker(hostname: str, devices=CPU, *, online=True):
    seen = timezone.now() - (timedelta(0) if online else timedelta(days=2))
    return TrainingWorker.objects.create(hostname=hostname, queues=["training", "training.cpu"], devices=devices,
                                         backends=["local"], last_seen_at=seen)


def _start_over_api(client, user, **requirements):
    return client.post("/api/v1/runs", {"dataset": make_snapshot(rows=60).sha256, "base_model": MODEL,
                                        "requirements": requirements},
                       content_type="application/json", **bearer(make_token(user, "Operator")))


def _age(run, seconds=3600):
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.django_db
def test_a_gpu_run_with_only_cpu_workers_online_is_warned_about_at_start(client, bob, sent_jobs):
    _worker("cpu@box")
    _worker("gpu@box", GPU, online=False)  # registered, so the run can be taken one day
    response = _start_over_api(client, bob, gpu=True)
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "no online worker can take it (cpu@box: it needs a GPU and this worker has none): it waits on "
        "training.gpu until one that has what it needs starts"]
    assert response.json()["wait_note"] == ""


@pytest.mark.django_db
def test_a_run_an_online_worker_can_take_starts_without_warnings(client, bob, sent_jobs):
    _worker("cpu@box")
    response = _start_over_api(client, bob)
    assert response.status_code == 201
    assert response.json()["warnings"] == []


@pytest.mark.django_db
def test_the_run_page_keeps_saying_no_online_worker_can_take_it_until_one_can(client, bob, sent_jobs):
    _worker("cpu@box")
    _worker("gpu@box", GPU, online=False)
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL, requirements={"gpu": True})
    client.login(username=bob.username, password=PASSWORD)
    for _ in range(2):
        page = client.get(f"/training/runs/{run.pk}/").content.decode()
        assert "Waiting for a worker" in page
        assert "No online worker can take it (cpu@box: it needs a GPU and this worker has none)" in page
    TrainingWorker.objects.filter(hostname="gpu@box").update(last_seen_at=timezone.now())
    assert "Waiting for a worker" not in client.get(f"/training/runs/{run.pk}/").content.decode()


@pytest.mark.django_db
def test_a_run_no_registered_worker_could_ever_take_gets_a_note_on_its_page_and_in_the_api(client, bob, sent_jobs):
    _worker("cpu@box")
    _worker("gpu@box", GPU, online=False)
    body = _start_over_api(client, bob, memory_gb=4000).json()
    run = TrainingRun.objects.get(pk=body["id"])
    assert run.status == JobStatus.QUEUED
    assert body["wait_note"].startswith("no registered worker could ever take it (cpu@box: it needs 4000 GB of RAM")
    assert "gpu@box: it needs 4000 GB of RAM" in body["wait_note"]
    detail = client.get(f"/api/v1/runs/{run.pk}", **bearer(make_token(bob, "Operator", name="read"))).json()
    assert detail["wait_note"] == body["wait_note"]
    client.login(username=bob.username, password=PASSWORD)
    assert "No registered worker could ever take it" in client.get(f"/training/runs/{run.pk}/").content.decode()


@pytest.mark.django_db
def test_the_sweep_holds_a_run_no_worker_could_take_and_sends_it_once_one_registers(bob, sent_jobs, settings):
    _worker("cpu@box")
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL, requirements={"memory_gb": 4000})
    sent_jobs.clear()
    _age(run)
    assert lifecycle.sweep_queued(TrainingRun, older_than=60) == []
    assert sent_jobs == []
    _worker("big@box", [{"kind": "cpu", "label": "cpu", "memory_total_mb": 5_000_000}])
    _age(run)
    assert lifecycle.sweep_queued(TrainingRun, older_than=60) == [run.pk]
    run.refresh_from_db()
    assert run.wait_note == ""  # the note went with its reason


@pytest.mark.django_db
def test_a_worker_that_leaves_a_run_queued_says_why_on_the_run(bob, sent_jobs, monkeypatch):
    from training.tasks import execute_run

    _worker("big@box", [{"kind": "cpu", "label": "cpu", "memory_total_mb": 200_000}], online=False)
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL, requirements={"memory_gb": 64})
    monkeypatch.setattr(worker_host, "_host", {"hostname": "small@box", "devices": CPU, "backends": ["local"]})
    assert execute_run.apply(args=[run.pk]).get() is None
    run.refresh_from_db()
    assert run.status == JobStatus.QUEUED
    assert run.wait_note.startswith("worker small@box left it queued at ")
    assert run.wait_note.endswith("it needs 64 GB of RAM and this worker has 16000 MiB")


@pytest.mark.django_db
def test_the_sweep_keeps_one_message_per_run_in_the_embedded_broker(bob, monkeypatch):
    monkeypatch.setattr(current_app.conf, "broker_url", "memory://localhost/")
    with current_app.connection_for_write() as connection:
        connection.default_channel.queues.pop("training.gpu", None)
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL, requirements={"gpu": True})
    queueing.send(TrainingRun, run.pk)  # the start's own message (on commit, which a test transaction skips)
    for _ in range(3):
        _age(run)
        assert lifecycle.sweep_queued(TrainingRun, older_than=60) == []
    with current_app.connection_for_write() as connection:
        waiting = connection.default_channel.queues["training.gpu"]
        assert waiting.qsize() == 1
        waiting.get_nowait()  # the broker loses it (a restart of the embedded server)
    _age(run)
    assert lifecycle.sweep_queued(TrainingRun, older_than=60) == [run.pk]
    assert queueing.waiting_in_broker(TrainingRun, run.pk) is True


@pytest.mark.django_db(transaction=True)
def test_the_sweep_keeps_one_message_per_run_in_redis(bob, private_redis, monkeypatch):  # noqa: F811
    monkeypatch.setattr(current_app.conf, "broker_url", private_redis.url)
    queueing._broker_down.reset()
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL, requirements={"gpu": True})
    client = redis.Redis.from_url(private_redis.url)
    assert client.llen("training.gpu") == 1  # sent on commit
    for _ in range(3):
        _age(run)
        assert lifecycle.sweep_queued(TrainingRun, older_than=60) == []
    assert client.llen("training.gpu") == 1
    client.delete("training.gpu")  # lost in a Redis restart without persistence
    _age(run)
    assert lifecycle.sweep_queued(TrainingRun, older_than=60) == [run.pk]
    assert client.llen("training.gpu") == 1
