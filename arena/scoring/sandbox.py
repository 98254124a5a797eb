"""Run untrusted Python (an exam's `python` check against a model's answer) in a child process.

Never in the worker: the code runs in a fresh `python -I` child in an empty temporary
folder, with
- no network: a new network namespace (`unshare -rn`, where the kernel allows it) holding
  only a downed loopback, plus an audit hook in the child refusing every socket operation;
- limits: RLIMIT_AS (memory), RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NOFILE, set before exec;
- a wall-clock timeout after which the whole process group is killed.
"""

import dataclasses
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

# Runs first inside the child: block sockets for good, then execute the program from stdin.
_BOOTSTRAP = r"""
import sys
def _no_network(event, args):
    if event.startswith("socket.") or event in ("urllib.Request",):
        raise PermissionError("network access is not allowed in an exam check")
sys.addaudithook(_no_network)
del _no_network
_source = sys.stdin.read()
exec(compile(_source, "<check>", "exec"), {"__name__": "__main__"})
"""


@dataclasses.dataclass(frozen=True)
class SandboxResult:
    status: str  # "passed" | "failed" | "timeout"
    output: str  # the tail of stdout + stderr

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@functools.cache
def network_namespace_available() -> bool:
    """True when `unshare -rn` can create a user + network namespace here."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    try:
        return subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _limits(memory_bytes: int, cpu_seconds: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run_python(source: str, *, timeout: float = 10.0, memory_mb: int = 512) -> SandboxResult:
    """Execute `source`; passed when it exits 0 within `timeout` seconds."""
    command = [sys.executable, "-I", "-S", "-c", _BOOTSTRAP]
    if network_namespace_available():
        command = [shutil.which("unshare"), "-rn", *command]
    with tempfile.TemporaryDirectory(prefix="arena-check-") as folder:
        proc = subprocess.Popen(
            command, cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin", "HOME": folder, "PYTHONDONTWRITEBYTECODE": "1"},
            start_new_session=True, preexec_fn=_limits(memory_mb << 20, max(1, int(timeout) + 1)))
        try:
            output, _ = proc.communicate(source.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            output, _ = proc.communicate()
            return SandboxResult("timeout", _tail(output) + f"\n(stopped after {timeout:g} s)")
        finally:
            _kill_group(proc)  # nothing the check started may outlive it
    return SandboxResult("passed" if proc.returncode == 0 else "failed", _tail(output))


def _kill_group(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(output: bytes | None, limit: int = 2000) -> str:
    return (output or b"").decode("utf-8", errors="replace")[-limit:]
