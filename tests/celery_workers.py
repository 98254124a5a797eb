"""Real `celery worker` (and server) processes for the tests that need them: on the test database, a Redis
broker, a data root each.

The processes share only the database with the test, so these tests need PostgreSQL (DATABASE_URL):
such a module marks itself with `needs_postgres`.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.processes import end_process

REPO_ROOT = Path(__file__).resolve().parents[1]

needs_postgres = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="needs PostgreSQL (and Redis): the processes the test starts share only the database, the broker and "
           "the artifact store with it (run with DATABASE_URL=postgres://... REDIS_URL=redis://...)")


def worker_database_url() -> str:
    """The test database as a DATABASE_URL, for processes started by the test."""
    db = connection.settings_dict
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth + '@' if auth else ''}{host}:{port}/{quote(db['NAME'], safe='')}"


def process_env(*, data_dir, redis_url: str, **env: str) -> dict:
    """The environment of a process the test starts: the test database, `redis_url`, `data_dir` as its data root,
    the local training backend without a GPU, and `env` added."""
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY_FILE"}
    environment.update(DATABASE_URL=worker_database_url(), REDIS_URL=redis_url, SECRET_KEY="worker-test",
                       ACADEMY_DATA_DIR=str(data_dir), ACADEMY_EMBEDDED_WORKER="false", TRAINING_BACKEND="local",
                       ENABLE_GPU="false")
    environment.update(env)
    return environment


def worker_command(*, queue: str, node: str, pool: str = "solo", concurrency: int = 1) -> list[str]:
    """`celery worker -Q <queue>` as node `node` (by default one task at a time)."""
    return [sys.executable, "-m", "celery", "-A", "academy_site", "worker", "-Q", queue, "--pool", pool,
            "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "WARNING", "-n", node]


def start_worker(*, queue: str, node: str, data_dir, redis_url: str, log: Path, pool: str = "solo",
                 concurrency: int = 1, **env: str) -> subprocess.Popen:
    """`celery worker -Q <queue>` (by default one task at a time; local training backend, no GPU) as node
    `node`, on the test database, with `data_dir` as its data root and `env` added; its output goes to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(worker_command(queue=queue, node=node, pool=pool, concurrency=concurrency),
                                cwd=REPO_ROOT, env=process_env(data_dir=data_dir, redis_url=redis_url, **env),
                                stdout=out, stderr=subprocess.STDOUT)


@dataclass
class Process:
    """A process the test started as one host: its name, data root, log and (for a worker) Celery node name."""

    name: str
    root: Path
    process: subprocess.Popen
    log: Path
    hostname: str = ""

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> int:
        """SIGTERM, then its exit status (killed when it has not ended a minute later)."""
        return end_process(self.process, timeout=60)


def start_process(name: str, root: Path, command: list[str], env: dict, hostname: str = "") -> Process:
    """Start `command` with `root` as its data root; its output goes to <root>/../<name>.log."""
    root.mkdir(parents=True, exist_ok=True)
    log = root.parent / f"{name}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Process(name, root, process, log, hostname)


def start_training_host(name: str, root: Path, redis_url: str, domain: str, **env: str) -> Process:
    """A `celery worker -Q training` as node <name>@<domain>, with `root` as its own data root."""
    hostname = f"{name}@{domain}"
    return start_process(name, root, worker_command(queue="training", node=hostname),
                         process_env(data_dir=root, redis_url=redis_url, **env), hostname)


def stop_all(processes: list[Process]) -> None:
    """SIGTERM to every process at once, then wait for each (killed when it has not ended a minute later)."""
    for host in processes:
        if host.process.poll() is None:
            host.process.send_signal(signal.SIGTERM)
    for host in processes:
        host.stop()


def wait_until_consuming(client, hosts: list[Process]) -> None:
    """Until every worker in `hosts` answers a ping through `client` (a Celery app); fails when one exits."""
    deadline = time.monotonic() + 120
    names = {host.hostname for host in hosts}
    while time.monotonic() < deadline:
        for host in hosts:
            if host.process.poll() is not None:
                pytest.fail(f"{host.name} exited with {host.process.returncode}\n{host.log_tail()}")
        replies = client.control.ping(destination=sorted(names), timeout=1.0) or []
        if names <= {name for reply in replies for name in reply}:
            return
    pytest.fail("the workers never answered a ping\n" + "\n".join(h.log_tail() for h in hosts))
