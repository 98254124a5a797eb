"""The supervisor's sums over a check's process tree count every process the check ran, reaped ones too."""

import os
import subprocess
import sys
from pathlib import Path

from arena.scoring import sandbox, sandbox_limits
from arena.scoring.sandbox_limits import kill_tree, process_tree, usage, work_folder_bytes
from tests.arena.sandbox_support import require_sandbox

# A parent that forks a child, lets it burn 0.5 s of CPU, reaps it, then waits with its own child asleep.
_TREE = """
import os, sys, time
pid = os.fork()
if pid == 0:
    started = time.process_time()
    while time.process_time() - started < 0.5:
        pass
    os._exit(0)
os.waitpid(pid, 0)
if os.fork() == 0:
    block = b'x' * (64 << 20)
    print('ready', flush=True)
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


def test_a_reaped_childs_cpu_time_and_a_live_childs_memory_count_for_the_tree():
    proc = subprocess.Popen([sys.executable, "-c", _TREE], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        tree = process_tree(proc.pid)
        cpu, resident = usage(tree)
    finally:
        kill_tree(proc.pid, None)
        proc.wait()
    assert len(tree) == 2  # the parent and its living child; the reaped one is gone
    assert cpu >= 0.45  # its CPU time moved into the parent's cutime/cstime
    assert resident >= 64 << 20


def test_an_init_whose_tmp_is_not_yet_the_checks_tmpfs_holds_nothing_of_the_check():
    # bwrap names its init before the init has mounted anything: its /tmp is then the host's, and a
    # busy disk read through it (30 GB here) stopped a check that held nothing for memory.
    host_folder = str(Path(__file__).resolve().parent)  # a filesystem holding at least this repository
    used = os.statvfs(host_folder)
    assert (used.f_blocks - used.f_bfree) * used.f_frsize > sandbox.WORK_BYTES

    assert work_folder_bytes(os.getpid(), size=sandbox.WORK_BYTES, folder=host_folder) == 0


def test_what_a_check_writes_to_its_tmpfs_counts_for_the_supervisor(monkeypatch):
    require_sandbox()
    monkeypatch.setattr(sandbox_limits, "make_cgroup", lambda *args: None)
    seen = []
    read = sandbox_limits.work_folder_bytes
    monkeypatch.setattr(sandbox_limits, "work_folder_bytes", lambda *a, **kw: seen.append(read(*a, **kw)) or seen[-1])
    code = "import time\nopen('/tmp/held', 'wb').write(b'x' * (8 << 20))\ntime.sleep(2)\nprint('done')\n"

    result = sandbox.run_python(code, timeout=10, memory_mb=256)

    assert result.passed and "done" in result.output, result.output
    assert max(seen) >= 8 << 20
