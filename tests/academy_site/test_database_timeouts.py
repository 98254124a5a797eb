"""A database that accepts connections and never answers: /readyz says so within its bound.

The hung database is a plain TCP listener that accepts and never writes a byte (as a
PostgreSQL stuck behind a dead disk or a half-open proxy does). The server side runs in a
child process with DATABASE_URL pointed at it, so the test's own database is untouched.
"""

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from academy_site.database import postgres_options

ROOT = Path(__file__).resolve().parents[2]

READYZ = """
import json, os, django
django.setup()
from django.test import Client
response = Client().get("/readyz", HTTP_HOST="127.0.0.1")
print("RESULT " + json.dumps({"status": response.status_code, "body": response.json()}), flush=True)
os._exit(0)  # the abandoned check's thread is still waiting on the silent socket
"""


class HungDatabase:
    """Accepts TCP connections and never answers; counts what connected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)  # kept open, never read from or written to

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def _child(env_extra: dict, code: str, tmp_path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "academy_site.settings", "SECRET_KEY": "timeouts-test",
                "ACADEMY_DATA_DIR": str(tmp_path / "child"), "ACADEMY_EMBEDDED_WORKER": "false",
                "PYTHONPATH": str(ROOT), **env_extra})
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _result(done: subprocess.CompletedProcess) -> dict:
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def test_readyz_answers_503_naming_a_database_that_never_answers(tmp_path):
    with HungDatabase() as hung:
        # The child must finish well inside the subprocess bound: the hung socket never lets go.
        done = _child({"DATABASE_URL": f"postgres://academy@127.0.0.1:{hung.port}/academy"}, READYZ, tmp_path)
        assert hung.accepted, "the database check never reached the listener"
    result = _result(done)
    assert result["status"] == 503
    assert result["body"]["failed"] == ["database"]
    assert "no answer within" in result["body"]["checks"]["database"]["error"]
    assert result["body"]["checks"]["broker"] == {"ok": True}


def test_readyz_works_in_embedded_mode_on_sqlite(tmp_path):
    code = ("from django.core.management import call_command\n" + READYZ.replace(
        "django.setup()\n", "django.setup()\ncall_command('migrate', verbosity=0)\n"
        "from django.db import connection\nc = connection.cursor()\nc.execute('PRAGMA busy_timeout')\n"
        "print('BUSY', c.fetchone()[0], flush=True)\n"))
    done = _child({}, code, tmp_path, timeout=300)
    result = _result(done)
    assert result["status"] == 200, result
    assert "BUSY 5000" in done.stdout  # writers wait for the embedded worker's lock instead of failing


def test_postgres_gets_connect_and_statement_timeouts_and_a_bounded_pool():
    database = {"ENGINE": "django.db.backends.postgresql", "NAME": "academy", "OPTIONS": {"sslmode": "prefer"}}
    options = postgres_options(database, pool_min=1, pool_max=8, pool_timeout=3.0, conn_max_age=60,
                               connect_timeout=5, statement_timeout_ms=30000)
    assert options["CONN_MAX_AGE"] == 0  # Django refuses persistent connections with a pool
    assert options["OPTIONS"] == {"sslmode": "prefer", "connect_timeout": 5,
                                  "options": "-c statement_timeout=30000",
                                  "pool": {"min_size": 1, "max_size": 8, "timeout": 3.0}}


def test_pool_max_zero_keeps_per_thread_connections_with_their_age():
    database = {"ENGINE": "django.db.backends.postgresql", "NAME": "academy"}
    options = postgres_options(database, pool_min=0, pool_max=0, pool_timeout=3.0, conn_max_age=60,
                               connect_timeout=5, statement_timeout_ms=0)
    assert options == {"CONN_MAX_AGE": 60, "OPTIONS": {"connect_timeout": 5}}


def test_sqlite_databases_are_left_alone():
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": "x.sqlite3"}
    assert postgres_options(database, pool_min=0, pool_max=10, pool_timeout=3.0, conn_max_age=0,
                            connect_timeout=5, statement_timeout_ms=30000) == {}


def test_pool_bounds_out_of_order_stop_the_start_naming_both(tmp_path):
    done = _child({"DATABASE_URL": "postgres://academy@127.0.0.1:5432/academy", "DB_POOL_MIN": "20",
                   "DB_POOL_MAX": "5"}, "import django; django.setup()", tmp_path)
    assert done.returncode != 0
    assert "DB_POOL_MIN (20) must not be above DB_POOL_MAX (5)" in done.stderr


@pytest.mark.django_db
def test_a_database_that_cannot_serve_now_is_a_503_with_retry_after(client, bob, monkeypatch, settings):
    from django.db import OperationalError

    settings.DEBUG = False
    client.raise_request_exception = False

    def busy(*args, **kwargs):
        raise OperationalError("couldn't get a connection after 10.00 sec")

    monkeypatch.setattr("academy_site.views.collect_counts", busy)
    client.force_login(bob)
    page = client.get("/")
    assert page.status_code == 503
    assert page["Retry-After"] == "5"
    assert b"try again" in page.content


@pytest.mark.django_db
def test_migrate_runs_without_the_statement_timeout_and_restores_it_after(monkeypatch):
    from django.core.management import call_command
    from django.core.management.commands.migrate import Command as DjangoMigrate
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the statement timeout is a PostgreSQL setting (the services pass runs this)")
    seen = []

    def record(self, *args, **options):
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            seen.append(cursor.fetchone()[0])

    monkeypatch.setattr(DjangoMigrate, "handle", record)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        after = cursor.fetchone()[0]
    assert seen == ["0"]
    assert after == "30s"
