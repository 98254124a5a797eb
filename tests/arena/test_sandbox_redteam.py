"""Attacks on the python check sandbox and the checks around it, each a real payload.

Holes these payloads found, now closed: a check read the worker's session keyring, held memory
in memfds that no resident-memory sum sees, hid CPU time in children the kernel reaps, traced
the namespace's init, reached io_uring/bpf/perf; an answer that exits before the test passed
its check; a short RE2 pattern took minutes per answer. The rest are guards on what held.
"""

import ctypes
import dataclasses
import platform
import threading
from pathlib import Path

import pytest
from django.conf import settings

from arena.exams import check_item
from arena.scoring import sandbox, sandbox_limits, sandbox_seccomp
from arena.scoring.checks import PatternError, compile_pattern, extract_code, run_check
from arena.scoring.sandbox import run_python
from tests.arena.sandbox_support import RETURN_BOUND, Timed, require_sandbox

pytestmark = pytest.mark.mode_independent

KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_REVOKE, KEY_SPEC_SESSION_KEYRING = 1, 3, -3
needs_filter = pytest.mark.skipif(sandbox_seccomp.filter_program() is None,
                                  reason=f"no syscall filter for {platform.machine()}")


def _run(code: str, timeout: float = 10, memory_mb: int = 256):
    with Timed() as timed:
        result = run_python(code, timeout=timeout, memory_mb=memory_mb)
    assert timed.seconds < timeout + RETURN_BOUND
    return result


def _syscall_payload(body: str) -> str:
    return ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\n"
            "def call(number, *args):\n"
            "    ctypes.set_errno(0)\n"
            "    rc = libc.syscall(number, *args)\n"
            "    return rc, ctypes.get_errno()\n" + body)


@pytest.fixture
def worker_key():
    """A secret in a fresh session keyring of this process, as a worker under systemd or pam has one."""
    if sandbox_seccomp.syscall_number("keyctl") is None:
        pytest.skip(f"no syscall table for {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    keyctl, add_key = sandbox_seccomp.syscall_number("keyctl"), sandbox_seccomp.syscall_number("add_key")
    if libc.syscall(keyctl, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        pytest.skip("this host has no kernel keyrings")
    key = libc.syscall(add_key, b"user", b"academy-test-key", b"keyring-secret-value", 20, KEY_SPEC_SESSION_KEYRING)
    assert key > 0
    yield
    libc.syscall(keyctl, KEYCTL_REVOKE, key)


_READ_SESSION_KEYRING = """
buffer = ctypes.create_string_buffer(4096)
rc, err = call({keyctl}, 11, -3, buffer, 4096)  # KEYCTL_READ of the session keyring: the ids of its keys
print('list', rc, err)
for i in range(0, max(rc, 0), 4):
    key = int.from_bytes(buffer.raw[i:i + 4], 'little')
    payload = ctypes.create_string_buffer(4096)
    size, err = call({keyctl}, 11, key, payload, 4096)
    print('KEY', key, payload.raw[:max(size, 0)])
print(open('/proc/keys').read())
"""


@pytest.mark.parametrize("syscall_filter", [True, False], ids=["filtered", "launcher-alone"])
def test_a_check_cannot_read_the_workers_session_keyring(worker_key, syscall_filter, monkeypatch):
    require_sandbox()
    if not syscall_filter:  # where no filter exists, the launcher's fresh keyring must hold alone
        unfiltered = dataclasses.replace(sandbox._setup(), seccomp=None)
        monkeypatch.setattr(sandbox, "_setup", lambda: unfiltered)
    code = _syscall_payload(_READ_SESSION_KEYRING.format(keyctl=sandbox_seccomp.syscall_number("keyctl")))

    result = _run(code)

    assert result.passed, result.output
    assert "keyring-secret-value" not in result.output and "KEY" not in result.output
    assert "academy-test-key" not in result.output  # not even listed in /proc/keys


@pytest.fixture(params=["cgroup", "supervisor"])
def limits_mode(request, monkeypatch):
    if request.param == "supervisor":
        monkeypatch.setattr(sandbox_limits, "make_cgroup", lambda *args: None)
    return request.param


@needs_filter
def test_memory_a_process_does_not_map_cannot_be_held(limits_mode):
    # 40 memfds of 10 MB: 400 MB against a 256 MB bound, none of it resident in any process.
    numbers = {name: sandbox_seccomp.syscall_number(name) for name in ("shmget", "msgget")}
    code = _syscall_payload(
        "held = 0\nfds = []\n"
        "try:\n"
        "    for i in range(40):\n"
        "        fd = os.memfd_create(f'm{i}')\n"
        "        os.write(fd, b'x' * (10 << 20))\n"
        "        fds.append(fd)\n"
        "        held += 10\n"
        "except OSError as exc:\n    print('memfd refused', type(exc).__name__)\n"
        f"print('shmget', *call({numbers['shmget']}, 0, 200 << 20, 0o1600))\n"  # IPC_PRIVATE, IPC_CREAT
        f"print('msgget', *call({numbers['msgget']}, 0, 0o1600))\n"
        "print('HELD MB', held)\n")

    result = _run(code, memory_mb=256)

    assert "memfd refused PermissionError" in result.output, result.output
    assert "HELD MB 0" in result.output
    assert "shmget -1 1" in result.output and "msgget -1 1" in result.output  # EPERM


@needs_filter
def test_children_cannot_hide_their_cpu_time_by_being_reaped_by_the_kernel():
    # With SIGCHLD ignored the kernel reaps children without adding their CPU time to any live
    # process, so the supervisor's sum would never see it: setting a SIGCHLD disposition is refused.
    code = ("import signal\nprint('disposition', signal.getsignal(signal.SIGCHLD))\n"
            "for handler in (signal.SIG_IGN, lambda *a: None, signal.SIG_DFL):\n"
            "    try:\n        signal.signal(signal.SIGCHLD, handler); print('SET', handler)\n"
            "    except OSError as exc:\n        print('refused', type(exc).__name__)\n"
            "signal.signal(signal.SIGUSR1, signal.SIG_IGN)\nprint('other signals still fine')\n")

    result = _run(code)

    assert result.passed, result.output
    assert "SET" not in result.output and result.output.count("refused PermissionError") == 3
    assert "other signals still fine" in result.output


@needs_filter
def test_kernel_interfaces_a_check_has_no_use_for_are_refused():
    names = ("ptrace", "process_vm_readv", "io_uring_setup", "bpf", "perf_event_open", "userfaultfd", "unshare",
             "mount", "keyctl", "add_key", "fanotify_init", "open_by_handle_at")
    calls = {name: sandbox_seccomp.syscall_number(name) for name in names}
    code = _syscall_payload(
        f"calls = {calls!r}\n"
        "params = ctypes.create_string_buffer(256)\n"
        "args = {'ptrace': (16, 1, 0, 0), 'io_uring_setup': (8, params), 'perf_event_open': (params, 0, -1, -1, 0),"
        " 'unshare': (0x10000000,), 'mount': (b'none', b'/tmp', b'tmpfs', 0, None)}\n"
        "for name, number in calls.items():\n"
        "    print(name, *call(number, *args.get(name, (0, 0, 0))))\n")
    if platform.machine() == "x86_64":  # the x32 ABI (same arch, other numbers): getpid with the x32 bit
        code += "print('x32', *call(0x40000000 | 39))\n"

    result = _run(code)

    assert result.passed, result.output
    for name in names:
        assert f"{name} -1 1\n" in result.output, result.output  # -1 with EPERM: the filter, not the kernel
    if platform.machine() == "x86_64":
        assert "x32 -1 1\n" in result.output


_WRONG_ADD = "def add(a, b):\n    return a - b\n"
_TEST = {"type": "python", "test": "assert add(2, 3) == 5, 'wrong sum'", "timeout": 10}


@pytest.mark.parametrize("ending", [
    "import sys\nsys.exit(0)\n",
    "import unittest\nif __name__ == '__main__':\n    unittest.main()\n",
    "import os\nos._exit(0)\n",
    "import atexit, os\natexit.register(os._exit, 0)\n",
], ids=["sys.exit", "unittest.main", "os._exit", "atexit"])
def test_an_answer_that_exits_before_the_test_does_not_pass(ending):
    require_sandbox()
    result = run_check(_TEST, f"```python\n{_WRONG_ADD}{ending}```", "")
    assert result["passed"] is False and result["status"] == "failed", result


def test_a_right_answer_with_a_main_block_still_passes_and_the_marker_stays_hidden():
    require_sandbox()
    answer = ("```python\nimport sys, unittest\nfrom dataclasses import dataclass\n\n@dataclass\nclass Pair:\n"
              "    a: int\n    b: int\n\ndef add(a, b):\n    return a + b\n\n"
              "if __name__ == '__main__':\n    unittest.main()\n    sys.exit(3)\n```")
    test = {**_TEST, "test": "assert add(2, 3) == 5\nassert Pair(1, 2).b == 2 and __file__\nimport sys\nsys.exit(0)"}

    result = run_check(test, answer, "")

    assert result["passed"] is True and result["status"] == "passed", result
    failing = run_check({**test, "test": "print('seen')\nassert add(2, 3) == 6"}, answer, "")
    assert failing["status"] == "failed" and "seen" in failing["detail"] and "AssertionError" in failing["detail"]
    assert "arena-check-completed" not in failing["detail"]


def test_a_regex_with_a_huge_program_is_refused_at_import_and_skipped_if_stored():
    pattern = r"(\w+\s*){1000}" * 3 + "Z"  # 43 characters, 30,005 RE2 instructions: 10 s per search measured here
    with pytest.raises(PatternError, match="RE2 instructions"):
        compile_pattern(pattern)
    with pytest.raises(ValueError, match="too large .*RE2 instructions"):
        check_item({"id": "q1", "prompt": "p", "reference": "r", "check": {"type": "regex", "pattern": pattern}})
    answer = "\n".join("abcdefghij " * 10 for _ in range(200))
    with Timed() as timed:
        result = run_check({"type": "regex", "pattern": pattern}, answer, "")
    assert result["status"] == "skipped" and "RE2 instructions" in result["detail"]
    assert timed.seconds < RETURN_BOUND
    assert compile_pattern(r"^\pL+ \d{1,3}$").search("été 12")  # a Unicode class is well within the bound


def test_a_check_cannot_kill_a_concurrent_check():
    require_sandbox()
    killer = ("import os, signal, time\nkilled = []\nstarted = time.monotonic()\n"
              "while time.monotonic() - started < 2:\n"
              "    for pid in set(range(2, 4096)) - {os.getpid()}:\n"
              "        try:\n            os.kill(pid, signal.SIGKILL); killed.append(pid)\n"
              "        except OSError:\n            pass\n"
              "print('killed', sorted(set(killed)))\n")
    victim = "import time\ntime.sleep(3)\nprint('victim survived')\n"
    results = {}

    def run(name, code):
        results[name] = run_python(code, timeout=15, memory_mb=256)

    threads = [threading.Thread(target=run, args=(name, code)) for name, code in (("victim", victim),
                                                                                    ("killer", killer))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15 + RETURN_BOUND)

    assert results["victim"].passed and "victim survived" in results["victim"].output, results["victim"].output
    assert results["killer"].passed and "killed []" in results["killer"].output, results["killer"].output


def test_host_paths_through_proc_sys_dev_and_links_are_out_of_reach():
    require_sandbox()
    secret = Path(settings.DATA_DIR) / "redteam-secret.txt"
    secret.write_text("redteam-secret-value")
    reads = ["/proc/1/root/etc/shadow", "/proc/self/root/etc/shadow", "/proc/1/cwd/etc/passwd", "/etc/shadow",
             "/root/.bashrc", "/sys/kernel/notes", f"/proc/1/root{secret}", str(secret),
             "/usr/lib/python3/../../../etc/shadow", "/proc/kmsg"]
    writes = ["/dev/shm/x", "/dev/pts/x", "/proc/sys/kernel/hostname", "/proc/sysrq-trigger", "/proc/self/root/usr/x"]
    code = (f"import os\nfor path in {reads!r}:\n"
            "    try:\n        print('READ', path, open(path, 'rb').read(40))\n"
            "    except OSError as exc:\n        print('refused', type(exc).__name__)\n"
            f"for path in {writes!r}:\n"
            "    try:\n        open(path, 'w').write('x'); print('WROTE', path)\n"
            "    except OSError as exc:\n        print('refused', type(exc).__name__)\n"
            "written = 0\n"
            "try:\n    with open('/tmp/fill', 'wb') as f:\n"
            "        while written < (64 << 20):\n"
            "            f.write(b'x' * (1 << 20)); f.flush(); written += 1 << 20\n"
            "except OSError as exc:\n    print('tmp full at MB', written >> 20, type(exc).__name__)\n")

    result = _run(code)

    assert "READ" not in result.output and "WROTE" not in result.output, result.output
    assert result.output.count("refused") == len(reads) + len(writes)
    full_at = int(result.output.split("tmp full at MB", 1)[1].split()[0])
    assert full_at <= sandbox.WORK_BYTES >> 20


def test_a_check_cannot_take_the_hosts_pseudo_terminals():
    # kernel.pty.max counts every devpts instance on the host: 32 processes holding 60 each would
    # take most of what containers and terminals share.
    require_sandbox()
    code = ("import os, pty\nheld = []\n"
            "for opener in (lambda: os.open('/dev/ptmx', os.O_RDWR | os.O_NOCTTY), lambda: pty.openpty()[0]):\n"
            "    try:\n        held.append(opener()); print('PTY')\n"
            "    except OSError as exc:\n        print('refused', type(exc).__name__)\n"
            "print(os.listdir('/dev/pts'))\n")

    result = _run(code)

    assert result.passed and "PTY" not in result.output and result.output.count("refused") == 2, result.output
    assert "[]" in result.output


_TCP_BUFFERS = """
import os, socket, time
try:
    server = socket.socket()
except OSError as exc:
    print('socket refused', type(exc).__name__)
    raise SystemExit(0)
server.bind(('127.0.0.1', 0))
server.listen(128)
read, write = os.pipe()
for _ in range(8):
    if os.fork() == 0:
        queued, held = 0, []
        try:
            for _ in range(14):
                client = socket.create_connection(server.getsockname())
                accepted, _ = server.accept()
                for end in (client, accepted):
                    end.setblocking(False)
                    try:
                        while True:
                            queued += end.send(b'x' * 262144)
                    except OSError:
                        pass
                held += [client, accepted]
        except OSError:
            pass
        os.write(write, b'%d\\n' % (queued >> 20))
        time.sleep(30)
        os._exit(0)
done = b''
while done.count(b'\\n') < 8:
    done += os.read(read, 4096)
print('QUEUED MB', sum(int(n) for n in done.split()))
"""


def test_loopback_tcp_buffers_count_against_the_memory_bound(limits_mode):
    # Measured before: 2.1 GB queued on the sandbox's own loopback against a 256 MB bound, in both
    # modes (cgroup v1 does not count TCP buffers in memory.limit_in_bytes), squeezing the host's TCP.
    require_sandbox()
    result = _run(_TCP_BUFFERS, timeout=20, memory_mb=256)

    if limits_mode == "supervisor" and sandbox_seccomp.filter_program() is not None:
        assert result.passed and "socket refused PermissionError" in result.output, result.output
        return
    if "QUEUED MB" in result.output:  # v2 may charge a little past memory.max before the sockets feel pressure
        assert int(result.output.split("QUEUED MB", 1)[1].split()[0]) < 384, result.output
    else:
        assert result.status == "memory", result.output


def test_empty_files_in_the_working_folder_count_against_the_memory_bound(limits_mode):
    # The tmpfs size bounds data, not files: each empty one still costs the kernel an inode and a dentry.
    require_sandbox()
    code = "import os\nfor n in range(300_000):\n    os.mknod(f'/tmp/{n}')\nprint('ALL MADE', flush=True)\n"

    result = _run(code, timeout=30, memory_mb=96)

    assert "ALL MADE" not in result.output and result.status in ("memory", "failed"), result.output


def test_finding_the_code_block_is_linear_in_a_run_of_blanks():
    # "```" then blanks and no newline: the old pattern split the run between two stars (quadratic,
    # 1 s at 20,000 characters; ARENA_CHECK_MAX_ANSWER_CHARS may be 1,000,000).
    with Timed() as timed:
        assert extract_code("```" + " " * 200_000) == "```" + " " * 200_000
        assert extract_code(("```" + " \t" * 100) * 1000).startswith("```")
    assert timed.seconds < RETURN_BOUND
    assert extract_code("text\n``` py \t\nx = 1\n```\nmore") == "x = 1\n"


def test_unix_socket_queues_count_against_the_memory_bound_without_a_cgroup(monkeypatch):
    # Six processes of 29 filled socket pairs each: about 70 MB that no process maps, against 64 MB.
    require_sandbox()
    monkeypatch.setattr(sandbox_limits, "make_cgroup", lambda *args: None)
    code = ("import os, socket, time\nread, write = os.pipe()\n"
            "for _ in range(6):\n"
            "    if os.fork() == 0:\n"
            "        held = []\n"
            "        for _ in range(29):\n"
            "            pair = socket.socketpair()\n"
            "            for end in pair:\n"
            "                end.setblocking(False)\n"
            "                try:\n"
            "                    while True:\n                        end.send(b'x' * 65536)\n"
            "                except OSError:\n                    pass\n"
            "            held += pair\n"
            "        os.write(write, b'1')\n"
            "        time.sleep(30)\n"
            "        os._exit(0)\n"
            "done = 0\nwhile done < 6:\n    done += len(os.read(read, 6))\n"
            "time.sleep(1)\nprint('ALL HELD', flush=True)\n")

    result = _run(code, timeout=20, memory_mb=64)

    assert result.status == "memory" and "ALL HELD" not in result.output, result.output



@needs_filter
def test_every_process_a_check_can_reach_runs_under_the_syscall_filter():
    # bwrap's reaper (pid 1 of the namespace) runs as the check's uid and its memory is writable
    # through /proc/1/mem: code put there must meet the same filter.
    code = ("import os\nfor pid in sorted(int(p) for p in os.listdir('/proc') if p.isdigit()):\n"
            "    status = dict(l.split(':', 1) for l in open(f'/proc/{pid}/status'))\n"
            "    print('pid', pid, 'seccomp', status['Seccomp'].strip(), status['Seccomp_filters'].strip())\n")

    result = _run(code)

    assert result.passed, result.output
    modes = [line.split()[3:] for line in result.output.splitlines() if line.startswith("pid ")]
    assert len(modes) == 2 and all(mode == ["2", "1"] for mode in modes), result.output  # 2: a filter


@needs_filter
def test_a_check_cannot_open_a_vsock_or_other_socket_families():
    # AF_VSOCK is not confined by the network namespace: in a VM it reaches the hypervisor's and the
    # guest's own vsock services (this VM lets an unfiltered check create one). Unix and netlink stay.
    code = ("import socket\n"
            "for family, kind in ((40, socket.SOCK_STREAM), (40, socket.SOCK_SEQPACKET), (38, socket.SOCK_SEQPACKET),"
            " (31, socket.SOCK_STREAM), (21, socket.SOCK_SEQPACKET), (17, socket.SOCK_RAW)):\n"
            "    try:\n        socket.socket(family, kind).close(); print('OPENED', family)\n"
            "    except OSError as exc:\n        print('refused', family, exc.errno)\n"
            "socket.socket(socket.AF_UNIX).close()\nsocket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close()\n"
            "print('unix and netlink open')\n")

    result = _run(code)

    assert result.passed and "unix and netlink open" in result.output, result.output
    assert "OPENED" not in result.output and result.output.count("refused") == 6
    assert all(line.endswith(" 1") for line in result.output.splitlines() if line.startswith("refused"))  # EPERM
