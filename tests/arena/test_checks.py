"""Checks on generated answers: exact/contains/regex, token F1, and python tests in a locked-down child."""

import socket
import threading
import time

import pytest

from arena.scoring.checks import extract_code, run_check, token_f1
from arena.scoring.sandbox import network_namespace_available, run_python


def test_exact_contains_and_regex_checks_judge_the_answer():
    assert run_check({"type": "exact"}, " ls \n", "ls")["passed"]
    assert not run_check({"type": "exact", "value": "ls -la"}, "ls", "ls")["passed"]
    assert run_check({"type": "contains", "value": ["group by", "LIMIT 5"]}, "SELECT .. GROUP BY x LIMIT 5", "")[
        "passed"]
    missing = run_check({"type": "contains", "value": ["wc", "-l"]}, "use cat", "")
    assert not missing["passed"] and "wc" in missing["detail"]
    assert run_check({"type": "regex", "pattern": r"^fix(\(.+\))?: "}, "fix(io): handle empty file", "")["passed"]
    assert run_check(None, "anything", "ref") is None


def test_token_f1_counts_shared_tokens():
    assert token_f1("Use ls to list the files.", "Use ls to list the files.") == 1.0
    assert token_f1("bread rises", "Use ls") == 0.0
    assert token_f1("use ls", "Use ls to list") == pytest.approx(2 * 1.0 * 0.5 / 1.5)


def test_a_python_check_runs_the_answers_code_block_against_the_test():
    answer = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."
    assert extract_code(answer).strip().startswith("def add")
    assert run_check({"type": "python", "test": "assert add(2, 3) == 5"}, answer, "")["passed"]
    failed = run_check({"type": "python", "test": "assert add(2, 3) == 6"}, answer, "")
    assert not failed["passed"] and "AssertionError" in failed["detail"]


@pytest.fixture
def listener():
    """A real TCP server on this machine that records whether anything connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_a_python_check_cannot_reach_the_network(listener):
    port, accepted = listener
    with socket.create_connection(("127.0.0.1", port), timeout=2):  # the server is reachable from here
        pass
    time.sleep(0.3)
    assert len(accepted) == 1
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"

    result = run_python(code, timeout=10)

    assert result.status == "failed" and "connected" not in result.output
    time.sleep(0.3)
    assert len(accepted) == 1  # nothing from the check arrived


def test_the_network_is_cut_even_below_the_audit_hook(listener):
    if not network_namespace_available():
        pytest.skip("unshare -rn is not permitted on this kernel; the audit hook alone guards the network")
    port, accepted = listener
    # _socket bypasses socket.socket's audit events only partly; in a new network namespace
    # the host's loopback does not exist at all.
    code = ("import sys\nsys.audit = lambda *a: None\nimport _socket\n"
            f"s = _socket.socket()\ns.settimeout(2)\ns.connect(('127.0.0.1', {port}))\nprint('connected')")
    result = run_python(code, timeout=10)
    assert "connected" not in result.output
    time.sleep(0.3)
    assert accepted == []


def test_a_runaway_check_and_what_it_forked_are_stopped_at_its_timeout():
    code = "import os\nos.fork()\nprint('pid', os.getpid(), flush=True)\nwhile True:\n    pass\n"
    result = run_python(code, timeout=2)
    assert result.status == "timeout" and "stopped after 2 s" in result.output
    pids = [int(line.split()[1]) for line in result.output.splitlines() if line.startswith("pid ")]
    assert len(pids) == 2
    assert all(not _running(pid) for pid in pids)


def _running(pid: int) -> bool:
    """True while the process exists and is not a zombie awaiting its parent's wait()."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_check_that_allocates_too_much_memory_fails():
    result = run_python("block = bytearray(4 * 1024 ** 3)\n", timeout=20, memory_mb=256)
    assert result.status == "failed" and "MemoryError" in result.output
