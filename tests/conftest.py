import asyncio
import asyncio.runners
import socket
import warnings
from urllib.parse import urlparse

import pytest

from tests.factories import make_user


@pytest.fixture
def alice(db):
    """Admin."""
    return make_user("alice", "Admin", is_staff=True)


@pytest.fixture
def bob(db):
    """Operator."""
    return make_user("bob", "Operator")


@pytest.fixture
def carol(db):
    """Reviewer."""
    return make_user("carol", "Reviewer")


@pytest.fixture
def dave(db):
    """Outsider: signed in, no role."""
    return make_user("dave")


@pytest.fixture
def viewer(db):
    return make_user("victor", "Viewer")


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    """Each test writes artifacts under its own data root (and hashes passwords cheaply)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


REDIS_TEST_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_url():
    """A real Redis; skipped only where no Redis server runs (CI always has one)."""
    import os

    url = os.environ.get("REDIS_URL") or REDIS_TEST_URL
    if not reachable(url):
        pytest.skip(f"no Redis server at {url}")
    return url


@pytest.fixture
def sent_jobs(monkeypatch):
    """Jobs handed to the broker, as (model label, pk), instead of sending them (run on commit)."""
    sent = []

    def send(model, pk):
        sent.append((model._meta.label, pk))
        return True

    monkeypatch.setattr("jobs.queueing.send", send)
    return sent


@pytest.fixture(autouse=True)
def _fresh_redis_channel_layer(settings):
    """Each test talks to Redis through a channel layer object of its own.

    channels keeps one layer object per process, and channels_redis keeps receive state on it
    that belongs to the event loop that last received. A server has one loop for its whole
    life; a test process makes a new loop per async test, and a receive cancelled on an old
    loop can leave the next loop's teardown waiting forever. Redis carries the messages, so
    a fresh object sees everything the old one would. (The in-memory layer keeps its messages
    on the object itself, so it is left alone.)
    """
    from channels.layers import channel_layers

    if "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        yield
        return
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def _cancel_all_tasks_bounded(loop):
    """asyncio.Runner's loop-close step, with a bound on how long cancelled tasks may take.

    Each async test gets its own event loop, and closing it cancels what is left, waiting for
    every task to finish. A task of a third-party client that does not honour cancellation
    (seen with channels_redis receives abandoned on a closing loop) would hold the whole
    session; this waits 20 s, then names the stuck tasks in a warning and lets the loop close.
    """
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.wait(tasks, timeout=20))
    stuck = [task for task in tasks if not task.done()]
    if stuck:
        warnings.warn(f"{len(stuck)} task(s) ignored cancellation when the test loop closed: {stuck!r}",
                      RuntimeWarning, stacklevel=1)


asyncio.runners._cancel_all_tasks = _cancel_all_tasks_bounded
