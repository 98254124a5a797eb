"""A burst of requests against a real uvicorn on PostgreSQL stays inside the connection pool.

Before the pool, every concurrent request thread kept its own connection for CONN_MAX_AGE
seconds: 50 concurrent lesson POSTs took the server from 7 to 61 connections and a second
burst filled max_connections. With DB_POOL_MAX the web process never holds more than that
many, and a request that waits too long for one is answered 503, never 500.
(bench/db_burst.py measures the same burst with the old setting as its baseline.)
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.academy_server import AcademyServer

PASSWORD = "pool-test-password-1"
TOKEN_FILE = "operator-token.txt"
MAKE_TOKEN = f"""
from django.conf import settings
from accounts.services import create_api_token
from tests.factories import make_user
user = make_user("bob", "Operator")
_, raw = create_api_token(user, name="burst", role="Operator")
(settings.DATA_DIR / {TOKEN_FILE!r}).write_text(raw)
"""


def postgres_admin_url() -> str:
    """The PostgreSQL server of the services run (DATABASE_URL), or the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return "postgres://postgres@127.0.0.1:5432/postgres"
    # The services run names a database that pytest-django only creates as test_<name>: connect to the server's
    # maintenance database instead.
    return urlparse(url)._replace(path="/postgres").geturl()


class PostgresDatabase:
    """A fresh database on the server for one server under test; dropped afterwards."""

    def __init__(self, admin_url: str):
        import psycopg

        self.psycopg = psycopg
        parsed = urlparse(admin_url)
        self.name = f"academy_pool_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.admin = parsed._replace(path="/postgres").geturl()
        self.url = parsed._replace(path=f"/{self.name}").geturl()

    def __enter__(self):
        with self.psycopg.connect(self.admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc):
        with self.psycopg.connect(self.admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def connections(self) -> int:
        """Sessions open on this database now (the counting session is on another one)."""
        with self.psycopg.connect(self.admin, autocommit=True, connect_timeout=3) as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.name,)).fetchone()[0]


class Sampler:
    """Polls the database's session count on a thread; `peak` is the most seen."""

    def __init__(self, database: PostgresDatabase, every: float = 0.05):
        self.database, self.every, self.peak, self.samples = database, every, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psycopg

        with psycopg.connect(self.database.admin, autocommit=True) as conn:
            while not self._stop.is_set():
                count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                     (self.database.name,)).fetchone()[0]
                self.peak, self.samples = max(self.peak, count), self.samples + 1
                self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)


def burst(base: str, token: str, count: int) -> list[int]:
    """`count` concurrent lesson POSTs, each with its own lesson; their status codes (0: no answer)."""
    def post(i: int) -> int:
        body = json.dumps({"situation": f"burst {i} {uuid.uuid4().hex}", "action": "Keep connections bounded."})
        request = urllib.request.Request(f"{base}/api/v1/lessons", data=body.encode(), method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(post, range(count)))


def serve(database: PostgresDatabase, data_dir: Path, env: dict) -> AcademyServer:
    return AcademyServer(data_dir, username="admin", password=PASSWORD, setup=MAKE_TOKEN, start_timeout=120,
                         env={"DATABASE_URL": database.url, "DEBUG": "false", **env})


def _postgres_or_skip():
    """Runs in the services pass (DATABASE_URL names PostgreSQL): the embedded pass would repeat a minute of bursts."""
    import psycopg

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.skip("a PostgreSQL connection-pool test; runs in the services CI pass (DATABASE_URL=postgres://...)")

    try:
        psycopg.connect(postgres_admin_url(), connect_timeout=2).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {postgres_admin_url()}: {exc}")


@pytest.mark.services
def test_a_burst_of_200_requests_stays_inside_the_pool_and_never_gets_500(tmp_path):
    _postgres_or_skip()
    bound = 4
    with PostgresDatabase(postgres_admin_url()) as database, \
            serve(database, tmp_path / "data", {"DB_POOL_MAX": str(bound), "DB_POOL_TIMEOUT": "60"}) as server:
        token = (tmp_path / "data" / TOKEN_FILE).read_text().strip()
        with Sampler(database) as sampler:
            codes = burst(server.base, token, 200)
            time.sleep(0.5)
        after = database.connections()
    assert sampler.samples > 0
    assert sampler.peak <= bound, f"{sampler.peak} sessions on the database with DB_POOL_MAX={bound}"
    assert after <= bound
    assert 500 not in codes
    assert set(codes) <= {201, 503}, sorted(set(codes))
    assert codes.count(201) > 0


@pytest.mark.services
def test_a_request_that_waits_past_the_pool_timeout_gets_503(tmp_path):
    _postgres_or_skip()
    # One connection for the whole process and almost no patience: most of a burst must wait too long.
    env = {"DB_POOL_MAX": "1", "DB_POOL_TIMEOUT": "0.1"}
    with PostgresDatabase(postgres_admin_url()) as database, serve(database, tmp_path / "data", env) as server:
        token = (tmp_path / "data" / TOKEN_FILE).read_text().strip()
        codes = burst(server.base, token, 100)
        log = (tmp_path / "data" / "server.log").read_text()
    assert 500 not in codes, log[-3000:]
    assert 503 in codes
    assert set(codes) <= {201, 503}, sorted(set(codes))


FORK = """
import os, sys, django
django.setup()
from django.db import connection
from academy_site.database import forget_inherited_pool
from academy_site.celery import app  # noqa: F401  (connects the worker_process_init receiver)
from celery.signals import worker_process_init

def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]

parent = backend_pid()  # the parent's pool now holds this session (checked out, as a worker's would be)
child = os.fork()
if child == 0:
    worker_process_init.send(sender=None)  # what Celery's prefork pool sends in every new child
    mine = backend_pid()
    connection.close()
    os._exit(0 if mine != parent else 3)
_, status = os.waitpid(child, 0)
print("RESULT", os.waitstatus_to_exitcode(status), backend_pid() == parent, flush=True)
"""


@pytest.mark.services
def test_a_forked_worker_process_opens_its_own_pool_and_leaves_the_parents_session_alone(tmp_path):
    import subprocess
    import sys

    _postgres_or_skip()
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({"DATABASE_URL": postgres_admin_url(), "DJANGO_SETTINGS_MODULE": "academy_site.settings",
                "SECRET_KEY": "fork-test", "ACADEMY_DATA_DIR": str(tmp_path), "PYTHONPATH": str(root)})
    done = subprocess.run([sys.executable, "-c", FORK], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)
    assert "RESULT 0 True" in done.stdout, done.stdout[-2000:] + done.stderr[-3000:]
