"""Run untrusted Python (an exam's `python` check against a model's answer) in a bubblewrap sandbox.

Who writes what: an exam's `test` comes from an Admin, the answer from the model; both are
treated as hostile. The program runs as `python -I -S` under `bwrap` with
- new user, mount, PID, network, IPC, UTS and cgroup namespaces; no further user namespaces;
- a read-only root holding only the interpreter, its standard library and the shared libraries
  they load (`arena/scoring/sandbox_root.py`): no /etc, no home, no data folder, no sockets,
  the new PID namespace's own /proc, a minimal read-only /dev without pseudo-terminals, and a
  size-limited tmpfs /tmp as the working folder; the program itself is a read-only file (stdin
  is /dev/null);
- a syscall filter (`arena/scoring/sandbox_seccomp.py`): no memfds, System V shared memory,
  ptrace, keyrings, io_uring, bpf, perf, mounts or SIGCHLD dispositions; no sockets but Unix,
  netlink and IP (no vsock), and no IP sockets where no cgroup counts their buffers;
- no environment from the server, and a new empty session keyring (the launcher's);
- the unprivileged user 65534 outside the namespace when the server runs as root, so that
  RLIMIT_NPROC counts (root is exempt);
- limits for the whole check (`arena/scoring/sandbox_limits.py`): a cgroup with memory and pids
  limits where the host allows one, a supervisor summing CPU time (and resident memory, the
  tmpfs and open sockets where no cgroup holds them) over every process of the check, and
  per-process rlimits as a backstop;
- an end: at the timeout, or when over a limit, the PID namespace's init is killed and the
  kernel kills every process in the namespace; the call returns within timeout + a few seconds
  even if something holds the output pipe, and reads at most a bounded tail of the output.

Where no working bwrap exists, `sandbox_status()` says why and no python check runs at all.
"""

import dataclasses
import functools
import json
import math
import os
import selectors
import shutil
import subprocess
import sys
import time
from pathlib import Path

from arena.scoring import sandbox_limits, sandbox_seccomp
from arena.scoring.sandbox_root import Root, RootError, build_root, choose_interpreter, unreadable_by_others

MAX_PROCESSES = 32  # every process and thread of the check, bwrap's own two included
WORK_BYTES = 16 << 20  # the tmpfs /tmp
MAX_FILE_BYTES = 16 << 20
KEEP_OUTPUT = 64 << 10  # bytes of output kept while reading (the tail)
SHOWN_OUTPUT = 2000  # characters of the tail in the result
GRACE = 2.0  # seconds to collect the exit and the last output after the end
POLL = 0.05
UNPRIVILEGED_UID = 65534
PROGRAM = "/check/program.py"
_LAUNCHER = str(Path(__file__).with_name("sandbox_launch.py"))


class SandboxUnavailable(RuntimeError):
    """No sandbox can run a check on this host; the message says why."""


@dataclasses.dataclass(frozen=True)
class SandboxResult:
    status: str  # "passed" | "failed" | "timeout" | "memory" | "cpu"
    output: str  # the tail of stdout + stderr

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclasses.dataclass(frozen=True)
class Availability:
    available: bool
    reason: str  # why not ("" when available)
    limits: str  # how the whole-check limits are enforced on this host


@dataclasses.dataclass(frozen=True)
class _Setup:
    bwrap: str
    root: Root
    uid: int | None
    flags: tuple[str, ...]
    seccomp: bool  # whether sandbox_seccomp has a syscall filter for this architecture
    keyctl: int | None  # keyctl's syscall number, for the launcher's fresh session keyring


@functools.cache
def _setup() -> _Setup:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed on the worker")
    try:
        root = build_root(choose_interpreter())
    except RootError as exc:
        raise SandboxUnavailable(str(exc)) from None
    uid = UNPRIVILEGED_UID if os.geteuid() == 0 else None
    if uid is not None:
        refused = unreadable_by_others(root.paths())
        if refused:
            raise SandboxUnavailable(f"the check interpreter is not readable by uid {uid}: {', '.join(refused[:3])}")
    try:
        usage = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxUnavailable(f"bwrap does not run: {exc}") from None
    flags = ("--disable-userns",) if "--disable-userns" in usage else ()
    return _Setup(bwrap, root, uid, flags, sandbox_seccomp.filter_program() is not None,
                  sandbox_seccomp.keyctl_number())


@functools.cache
def sandbox_status() -> Availability:
    """Whether python checks can run on this host (probed once per process by running one)."""
    probe = "import os\nprint('sandbox', 'ok', os.getpid())\n"
    try:
        setup = _setup()
        result, limits = _run(setup, probe, timeout=20.0, memory_bytes=256 << 20)
    except SandboxUnavailable as exc:
        return Availability(False, str(exc), "")
    if not result.passed or "sandbox ok" not in result.output:
        return Availability(False, f"bwrap could not start a check here: {result.output.strip()[-300:]}", "")
    return Availability(True, "", limits)


def sandbox_available() -> bool:
    return sandbox_status().available


def run_python(source: str, *, timeout: float = 10.0, memory_mb: int = 512) -> SandboxResult:
    """Execute `source`; passed when it exits 0 within `timeout` seconds and its limits."""
    status = sandbox_status()
    if not status.available:
        raise SandboxUnavailable(status.reason)
    return _run(_setup(), source, timeout=timeout, memory_bytes=memory_mb << 20)[0]


def _run(setup: _Setup, source: str, *, timeout: float, memory_bytes: int) -> tuple[SandboxResult, str]:
    cgroup = sandbox_limits.make_cgroup(memory_bytes, MAX_PROCESSES)
    # memfds are close-on-exec; pass_fds hands them to the launcher alone, and bwrap reads and closes them.
    program = _memory_file("arena-check", source.encode("utf-8", errors="replace"))
    # Without a cgroup nothing counts socket buffers: the filter then refuses IP sockets (sandbox_seccomp).
    syscall_filter = sandbox_seccomp.filter_program(ip_sockets=cgroup is not None) if setup.seccomp else None
    seccomp = _memory_file("arena-check-seccomp", syscall_filter) if syscall_filter else None
    info_read, info_write = os.pipe()
    passed = tuple(fd for fd in (program, seccomp, info_write) if fd is not None)
    try:
        spec = {"cgroup_procs": cgroup.procs_files if cgroup else [], "uid": setup.uid, "keyctl": setup.keyctl,
                "limits": _rlimits(setup.uid, memory_bytes, timeout, pids_cgroup=cgroup is not None),
                "argv": _bwrap_argv(setup, program_fd=program, info_fd=info_write, seccomp_fd=seccomp)}
        proc = subprocess.Popen([sys.executable, "-I", "-S", _LAUNCHER, json.dumps(spec)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={}, pass_fds=passed)
    except BaseException:
        os.close(info_read)
        if cgroup:
            cgroup.remove()
        raise
    finally:
        for fd in passed:
            os.close(fd)
    try:
        ended, output, started = _supervise(proc, info_read, cgroup, timeout, memory_bytes)
        if ended in (None, "timeout") and cgroup is not None and cgroup.out_of_memory():
            ended = "memory"  # the kernel killed a process for memory: that, not the clock, ended it
    finally:
        os.close(info_read)
        if cgroup:
            cgroup.remove()
    limits = (f"cgroup {cgroup.kind} (memory, pids) + CPU supervisor" if cgroup else
              "process-tree supervisor (CPU, resident memory) + RLIMIT_NPROC")
    if not setup.seccomp:
        limits += " (no syscall filter for this architecture)"
    else:
        limits += " + syscall filter" if cgroup else " + syscall filter (no IP sockets)"
    text = output.decode("utf-8", errors="replace")
    if not started:  # bwrap made no namespace: the program never ran, so this says nothing about the answer
        raise SandboxUnavailable(text.strip()[-300:] or f"bwrap exited with {proc.returncode} before starting")
    notes = {"timeout": f"(stopped after {timeout:g} s)",
             "memory": f"(stopped: the check used more than {memory_bytes >> 20} MB)",
             "cpu": f"(stopped: the check used more than {timeout:g} s of CPU time)"}
    if ended:
        return SandboxResult(ended, text[-SHOWN_OUTPUT:] + "\n" + notes[ended]), limits
    return SandboxResult("passed" if proc.returncode == 0 else "failed", text[-SHOWN_OUTPUT:]), limits


def _memory_file(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _bwrap_argv(setup: _Setup, *, program_fd: int, info_fd: int, seccomp_fd: int | None) -> list[str]:
    root = setup.root
    argv = [setup.bwrap, "--unshare-all", "--unshare-user", *setup.flags, "--die-with-parent", "--new-session",
            "--clearenv", "--hostname", "check"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    for source, destination in root.binds:
        argv += ["--ro-bind", source, destination]
    for folder in root.masked:
        argv += ["--tmpfs", folder, "--remount-ro", folder]
    # bwrap's /dev has its own devpts: an empty read-only tmpfs over it leaves no pseudo-terminal to open
    # (ptys are counted host-wide, kernel.pty.max, and a check has no use for one).
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/pts", "--remount-ro", "/dev/pts",
             "--remount-ro", "/dev",
             "--size", str(WORK_BYTES), "--tmpfs", "/tmp",
             "--ro-bind-data", str(program_fd), PROGRAM,
             "--remount-ro", "/", "--chdir", "/tmp",
             "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
             "--setenv", "LD_LIBRARY_PATH", root.library_path,
             "--info-fd", str(info_fd),
             root.executable, "-I", "-S", "-B", "-X", "utf8", PROGRAM]
    return argv


def _rlimits(uid: int | None, memory_bytes: int, timeout: float, *, pids_cgroup: bool) -> dict[str, int]:
    # RLIMIT_NPROC also counts uid 65534's processes on the whole host (concurrent checks included),
    # and without dropping root the server user's own threads: with a pids cgroup bounding each
    # check alone, it is only a loose backstop.
    processes = MAX_PROCESSES * (16 if pids_cgroup else 1)
    if uid is None:
        processes += _threads_of(os.getuid())
    return {"RLIMIT_AS": memory_bytes, "RLIMIT_CPU": math.ceil(timeout) + 1, "RLIMIT_FSIZE": MAX_FILE_BYTES,
            "RLIMIT_NOFILE": 64, "RLIMIT_CORE": 0, "RLIMIT_NPROC": processes}


def _threads_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


def _supervise(proc, info_read: int, cgroup, timeout: float, memory_bytes: int) -> tuple[str | None, bytes, bool]:
    """Read output and watch limits until the check exits or must stop; then kill all of it.

    (why it stopped or None, the output's tail, whether bwrap started the namespace)
    """
    started_at = time.monotonic()
    deadline = started_at + timeout
    output, info = bytearray(), bytearray()
    selector = selectors.DefaultSelector()
    out_fd = proc.stdout.fileno()
    os.set_blocking(out_fd, False)
    os.set_blocking(info_read, False)
    selector.register(out_fd, selectors.EVENT_READ)
    selector.register(info_read, selectors.EVENT_READ)
    ended, namespace_init, next_look = None, None, 0.0
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if now >= deadline:
                ended = "timeout"
                break
            _read_ready(selector, min(POLL, deadline - now), out_fd, output, info)
            if namespace_init is None:
                namespace_init = _child_pid(info)
            if now >= next_look:
                next_look = now + 0.1
                tree = sandbox_limits.process_tree(proc.pid)
                cpu, resident = sandbox_limits.usage(tree)
                if cpu > timeout:
                    ended = "cpu"
                    break
                if cgroup is None:  # kernel memory no process maps, which a cgroup would count
                    resident += (sandbox_limits.work_folder_bytes(namespace_init, size=WORK_BYTES)
                                 + sandbox_limits.socket_bytes(tree))
                if resident > memory_bytes if cgroup is None else cgroup.out_of_memory():
                    ended = "memory"
                    break
    finally:
        sandbox_limits.kill_tree(proc.pid, namespace_init)  # nothing the check started outlives it
        try:
            proc.wait(GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(GRACE)
        drain_until = time.monotonic() + GRACE
        while selector.get_map() and time.monotonic() < drain_until:
            _read_ready(selector, POLL, out_fd, output, info)
        selector.close()
        proc.stdout.close()
    namespace_init = namespace_init or _child_pid(info)
    return ended, bytes(output), namespace_init is not None


def _read_ready(selector, wait: float, out_fd: int, output: bytearray, info: bytearray) -> None:
    for key, _ in selector.select(max(wait, 0)):
        try:
            chunk = os.read(key.fd, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            selector.unregister(key.fd)
            continue
        target = output if key.fd == out_fd else info
        target += chunk
        if len(target) > KEEP_OUTPUT:
            del target[:-KEEP_OUTPUT]


def _child_pid(info: bytearray) -> int | None:
    try:
        return int(json.loads(bytes(info).decode())["child-pid"])
    except (ValueError, KeyError, TypeError):
        return None
