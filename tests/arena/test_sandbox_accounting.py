"""The supervisor's sums over a check's process tree count every process the check ran, reaped ones too."""

import subprocess
import sys

from arena.scoring.sandbox_limits import kill_tree, process_tree, usage

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
