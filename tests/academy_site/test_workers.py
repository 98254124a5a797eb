import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery

from academy_site import embedded_worker
from academy_site.tasks import ping
from tests.processes import end_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def running_embedded_worker():
    embedded_worker.start(with_beat=False)
    yield
    embedded_worker.stop()


def test_embedded_worker_executes_a_task_in_this_process(running_embedded_worker):
    payload = uuid.uuid4().hex
    result = ping.delay(payload).get(timeout=30)
    assert result["payload"] == payload
    assert result["pid"] == os.getpid()


def test_a_real_celery_worker_process_executes_a_task_over_redis(redis_url, tmp_path):
    env = dict(os.environ, REDIS_URL=redis_url, SECRET_KEY="worker-test", ACADEMY_DATA_DIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "academy_site", "worker", "-Q", queue, "--pool", "solo",
         "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "WARNING",
         "-n", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    client = Celery(broker=redis_url, backend=redis_url)
    try:
        payload = uuid.uuid4().hex
        result = client.send_task("academy_site.ping", args=[payload], queue=queue).get(timeout=60)
        assert result["payload"] == payload
        assert result["pid"] == worker.pid
    finally:
        end_process(worker, timeout=30)
        client.close()
