"""How long starting a job takes while the broker (Redis) is down: a plain `.delay()` against
jobs.queueing.send (one try, no retries, no Celery result).

    .venv/bin/python bench/enqueue_broker_down.py

Services-mode settings pointing at a free port where nothing listens (so Redis is "down"),
in one process. Baseline: `app.send_task(...)` as `task.delay()` does it (default retry
policy and the Redis result backend). Path: `jobs.queueing.send`. Both fail to publish; what
differs is how long the request waits before it can answer. Compare the ratio.
"""

import os
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    os.environ.update({"REDIS_URL": f"redis://127.0.0.1:{port}/0", "DEBUG": "true",
                       "DJANGO_SETTINGS_MODULE": "academy_site.settings", "LOG_LEVEL": "ERROR"})
    import django

    django.setup()
    from celery import current_app

    from curation.models import DatasetBuild
    from jobs import queueing

    start = time.monotonic()
    try:
        current_app.send_task(DatasetBuild.task_name, args=[1], queue="default")
        baseline_error = "none"
    except Exception as exc:  # noqa: BLE001 (we only time it)
        baseline_error = type(exc).__name__
    baseline = time.monotonic() - start

    start = time.monotonic()
    sent = queueing.send(DatasetBuild, 1)
    path = time.monotonic() - start
    print(f"baseline .delay():       {baseline:8.3f} s  (raised {baseline_error})")
    print(f"jobs.queueing.send():    {path:8.3f} s  (sent={sent}; the job stays queued for the sweep)")
    print(f"ratio baseline/path:     {baseline / path:8.0f}x")


if __name__ == "__main__":
    main()
