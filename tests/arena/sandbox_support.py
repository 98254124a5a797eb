"""What the sandbox tests share: the sandbox or a skip (a failure where CI requires it), and process checks."""

import os
import time
from pathlib import Path

import pytest

from arena.scoring.sandbox import GRACE, sandbox_status

# A call must return within its timeout plus this: the kill, the exit and the output's last
# bytes take at most GRACE each; the rest is slack for a loaded machine. A hang guard, not a speed test.
RETURN_BOUND = 3 * GRACE + 5.0


def require_sandbox():
    """Skip where no bubblewrap sandbox can run here; fail instead when ACADEMY_REQUIRE_SANDBOX is set (CI)."""
    status = sandbox_status()
    if not status.available:
        reason = f"no bubblewrap sandbox on this machine: {status.reason}"
        if os.environ.get("ACADEMY_REQUIRE_SANDBOX"):
            pytest.fail(reason)
        pytest.skip(reason)


def processes_with(marker: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() not in (entry / "cmdline").read_bytes():
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
        except OSError:
            continue
        found.append(int(entry.name))
    return found


class Timed:
    """Wall-clock seconds of a block (to show a call came back, not to measure speed)."""

    def __enter__(self):
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.started
