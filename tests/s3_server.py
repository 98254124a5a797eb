"""A real S3-compatible HTTP server for tests: moto's server (moto[server] from PyPI) on a free port.

Each test gets its own server process, an empty bucket, and settings pointing the artifact
store at it; the server stops at the end of the test.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid

import pytest

from tests.processes import end_process

BUCKET = "academy-test"
CREDENTIALS = {"ARTIFACT_STORE_ACCESS_KEY_ID": "test-key", "ARTIFACT_STORE_SECRET_ACCESS_KEY": "test-secret",
               "ARTIFACT_STORE_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    def __init__(self):
        self.port = _free_port()
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.05)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def store_settings(self) -> dict:
        """Settings (also usable as environment variables) for an artifact store in a fresh prefix."""
        return {"ARTIFACT_STORE_URL": f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}",
                "ARTIFACT_STORE_ENDPOINT_URL": self.endpoint, **CREDENTIALS}

    def filesystem(self):
        import s3fs

        return s3fs.S3FileSystem(key=CREDENTIALS["ARTIFACT_STORE_ACCESS_KEY_ID"],
                                 secret=CREDENTIALS["ARTIFACT_STORE_SECRET_ACCESS_KEY"], skip_instance_cache=True,
                                 client_kwargs={"endpoint_url": self.endpoint, "region_name": "us-east-1"})

    def stop(self) -> None:
        end_process(self.process, timeout=10)


@pytest.fixture
def s3_store(settings):
    """The artifact store on a private S3 server: returns (server, the store settings in force)."""
    server = S3Server()
    try:
        server.filesystem().call_s3("create_bucket", Bucket=BUCKET)
        values = server.store_settings()
        for name, value in values.items():
            setattr(settings, name, value)
        yield server, values
    finally:
        server.stop()
