"""A real Academy server in a child process (uvicorn, embedded worker, its own data root).

Used by the browser tests and by bench/live_latency.py: migrate, create the admin, seed one
dataset snapshot, serve on a free port, and stop it again.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.processes import end_process

ROOT = Path(__file__).resolve().parents[1]

SEED_SNAPSHOT = """
import hashlib
from django.conf import settings
from curation.models import DatasetSnapshot
body = (b'{"input": "", "instruction": "say hi", "output": "hi", '
        b'"source": {"id": 1, "kind": "lesson", "ref": "x"}, "split": "train"}\\n')
sha = hashlib.sha256(body).hexdigest()
(settings.DATA_DIR / "datasets").mkdir(parents=True, exist_ok=True)
(settings.DATA_DIR / "datasets" / f"{sha}.jsonl").write_bytes(body)
DatasetSnapshot.objects.create(name="seed", sha256=sha, format="alpaca", path=f"datasets/{sha}.jsonl",
                               row_count=1, train_count=1, eval_count=0)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AcademyServer:
    """Context manager: `with AcademyServer(data_dir, username=..., password=...) as server: server.base`."""

    def __init__(self, data_dir: Path, *, username: str, password: str, env: dict | None = None,
                 start_timeout: float = 60.0, setup: str = "", demo: bool = False):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.start_timeout = start_timeout
        self.setup = setup  # more Python run with `manage.py shell -c` before serving
        self.demo = demo  # as `make run` into an empty data folder: seed_demo instead of the one-row snapshot
        self.username = username
        # Embedded mode unless the caller passes REDIS_URL: the server must not inherit the test run's services.
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        # Static files straight from their sources: no collectstatic before each start (bench/ runs it too).
        self.env.setdefault("STATIC_MANIFEST", "false")
        # The demo clones its repository into the workspace root: the data folder's, never the real home.
        self.env.setdefault("WORKSPACE_ROOT", str(self.data_dir / "workspace"))
        self.env.update({"ACADEMY_DATA_DIR": str(self.data_dir), "SECRET_KEY": "server-harness-only",
                         "ACADEMY_EMBEDDED_WORKER": "true", "ACADEMY_ADMIN_PASSWORD": password,
                         "TRAINING_BACKEND": "local", "LOG_LEVEL": "WARNING", **(env or {})})

    def _manage(self, *args: str) -> None:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")

    def _log_tail(self) -> str:
        return (self.data_dir / "server.log").read_text()[-2000:]

    def __enter__(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._manage("migrate", "--noinput")
        self._manage("ensure_admin", "--username", self.username)
        if self.demo:
            self._manage("seed_demo", "--if-empty")
        else:
            self._manage("shell", "-c", SEED_SNAPSHOT)
        if self.setup:
            self._manage("shell", "-c", self.setup)
        self.log = open(self.data_dir / "server.log", "w")
        self.process = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(self.port)],
                                        cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return self
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError("the server did not start: " + self._log_tail())

    def __exit__(self, *exc):
        end_process(self.process, timeout=20)
        self.log.close()
