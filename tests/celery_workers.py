"""Real `celery worker` processes for the tests that need one: on the test database, a Redis broker, a data root each.

The worker shares only the database with the test, so these tests need PostgreSQL (DATABASE_URL).
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.db import connection

REPO_ROOT = Path(__file__).resolve().parents[1]


def worker_database_url() -> str:
    """The test database as a DATABASE_URL, for processes started by the test."""
    db = connection.settings_dict
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth + '@' if auth else ''}{host}:{port}/{quote(db['NAME'], safe='')}"


def start_worker(*, queue: str, node: str, data_dir, redis_url: str, log: Path, pool: str = "solo",
                 concurrency: int = 1, **env: str) -> subprocess.Popen:
    """`celery worker -Q <queue>` (by default one task at a time; local training backend, no GPU) as node
    `node`, on the test database, with `data_dir` as its data root and `env` added; its output goes to `log`."""
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY_FILE"}
    environment.update(DATABASE_URL=worker_database_url(), REDIS_URL=redis_url, SECRET_KEY="worker-test",
                       ACADEMY_DATA_DIR=str(data_dir), ACADEMY_EMBEDDED_WORKER="false", TRAINING_BACKEND="local",
                       ENABLE_GPU="false", **env)
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "academy_site", "worker", "-Q", queue, "--pool", pool,
             "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel", "WARNING", "-n", node],
            cwd=REPO_ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
