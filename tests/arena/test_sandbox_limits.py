"""Limits hold for the whole check, children included: process count, memory, CPU of one process, output."""

import uuid

import pytest

from arena.scoring import sandbox_limits
from arena.scoring.sandbox import MAX_PROCESSES, run_python
from tests.arena.sandbox_support import RETURN_BOUND, Timed, processes_with, require_sandbox

pytestmark = pytest.mark.mode_independent


@pytest.fixture(autouse=True)
def _sandbox():
    require_sandbox()


@pytest.fixture(params=["cgroup", "supervisor"])
def limits_mode(request, monkeypatch):
    """Each test runs with the check's cgroup (where this host allows one) and with the supervisor alone."""
    if request.param == "cgroup":
        group = sandbox_limits.make_cgroup(64 << 20, 4)
        if group is None:
            pytest.skip("this host lets the server make no cgroup with memory and pids limits")
        group.remove()
    else:
        monkeypatch.setattr(sandbox_limits, "make_cgroup", lambda *args: None)
    return request.param


def _run(code: str, timeout: float, memory_mb: int = 256):
    with Timed() as timed:
        result = run_python(code, timeout=timeout, memory_mb=memory_mb)
    assert timed.seconds < timeout + RETURN_BOUND
    return result


def test_a_fork_bomb_is_refused_new_processes(limits_mode):
    marker = f"academy-bomb-{uuid.uuid4().hex}"
    code = (f"# {marker}\nimport os, sys, time\nforked = 0\n"
            "try:\n"
            "    while True:\n"
            "        if os.fork() == 0:\n            time.sleep(60)\n            os._exit(0)\n"
            "        forked += 1\n"
            "except OSError as exc:\n"
            "    print('refused after', forked, type(exc).__name__, flush=True)\n"
            "    sys.exit(3)\n")

    result = _run(code, timeout=10)

    assert result.status == "failed" and "refused after" in result.output, result.output
    forked = int(result.output.split("refused after", 1)[1].split()[0])
    assert forked < MAX_PROCESSES
    assert processes_with(marker) == []


def test_memory_spread_over_children_counts_against_one_bound(limits_mode):
    # Four children of 100 MB each: none is over the 256 MB bound alone, together they are. The
    # parent says so only if all four are still alive a second after the last one filled its block:
    # the kernel's OOM killer may end an earlier child and let a later one fill (so four blocks got
    # filled, never four held), and the supervisor looks every 0.1 s.
    code = ("import os, sys, time\nread, write = os.pipe()\nchildren = []\n"
            "for _ in range(4):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        block = b'x' * (100 << 20)\n"
            "        os.write(write, b'1')\n"
            "        time.sleep(60)\n"
            "        os._exit(0)\n"
            "    children.append(pid)\n"
            "held = 0\n"
            "while held < 4:\n    held += len(os.read(read, 4))\n"
            "time.sleep(1)\n"
            "if all(os.waitpid(pid, os.WNOHANG) == (0, 0) for pid in children):\n"
            "    print('ALL HELD', flush=True)\n")

    result = _run(code, timeout=30)

    assert result.status == "memory", result.output
    assert "ALL HELD" not in result.output and "more than 256 MB" in result.output


def test_one_allocation_beyond_the_bound_fails_in_the_check(limits_mode):
    result = _run("block = bytearray(4 * 1024 ** 3)\n", timeout=20)
    assert result.status == "failed" and "MemoryError" in result.output


def test_a_busy_loop_is_stopped(limits_mode):
    result = _run("while True:\n    pass\n", timeout=2)
    assert result.status in ("timeout", "cpu") and not result.passed
