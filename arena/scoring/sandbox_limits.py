"""Limits that hold for a whole exam check, children included.

A cgroup where this host lets the server make one (a child of the server's own cgroup, v2 with
the memory and pids controllers delegated, or v1 memory and pids hierarchies): memory and
process count enforced by the kernel. Everywhere, a supervisor also reads the check's process
tree from /proc (the sandbox's PID namespace: every process it starts stays below bwrap) to sum
CPU time, and resident memory (with what the check's tmpfs and its sockets hold) where no memory
cgroup holds it, and kills the namespace when over. Per-process rlimits and RLIMIT_NPROC are set
by the launcher as a backstop.
"""

import itertools
import os
import signal
import threading
import time
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_names = itertools.count()
_names_lock = threading.Lock()


# ---------------------------------------------------------------------------- cgroups
def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(filesystem type, mount point, mount root, options) of each cgroup mount."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if " - " not in line:
            continue
        after = line.split(" - ", 1)[1].split()
        if after[0] in ("cgroup", "cgroup2"):
            found.append((after[0], fields[4], fields[3], set(after[2].split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """Controller (or "" for v2) -> the server's cgroup path in that hierarchy."""
    own = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                own[controller] = path
    except (OSError, ValueError):
        pass
    return own


def _folder(mount: str, root: str, path: str) -> Path | None:
    if root != "/" and path != root and not path.startswith(root.rstrip("/") + "/"):
        return None
    return Path(mount) / path[len(root.rstrip("/")):].lstrip("/")


class CheckCgroup:
    """One check's cgroup(s): made before the check starts, emptied and removed after it."""

    def __init__(self, kind: str, folders: list[Path]):
        self.kind = kind  # "v2" | "v1"
        self.folders = folders

    @property
    def procs_files(self) -> list[str]:
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def out_of_memory(self) -> bool:
        """True when the kernel killed a process of the check for memory."""
        for folder in self.folders:
            for name in ("memory.events", "memory.oom_control"):
                try:
                    text = (folder / name).read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and value.strip() not in ("", "0"):
                        return True
        return False

    def pids(self) -> set[int]:
        found = set()
        for procs in self.procs_files:
            try:
                found |= {int(p) for p in Path(procs).read_text().split()}
            except (OSError, ValueError):
                pass
        return found

    def remove(self) -> None:
        """Kill what is left in the cgroup and remove it (a few tries: killed tasks take a moment to go)."""
        for _ in range(50):
            for pid in self.pids():
                _kill(pid)
            for folder in list(self.folders):
                try:
                    folder.rmdir()
                    self.folders.remove(folder)
                except FileNotFoundError:
                    self.folders.remove(folder)
                except OSError:
                    pass
            if not self.folders:
                return
            time.sleep(0.02)


def make_cgroup(memory_bytes: int, max_processes: int) -> CheckCgroup | None:
    """A fresh cgroup limiting memory and process count, or None where the host does not allow one."""
    with _names_lock:
        name = f"academy-check-{os.getpid()}-{next(_names)}"
    own = _own_cgroups()
    mounts = _mounts()
    v1 = {}
    for fstype, point, root, options in mounts:
        if fstype == "cgroup":
            for controller in ("memory", "pids"):
                if controller in options and controller in own and controller not in v1:
                    v1[controller] = _folder(point, root, own[controller])
    if v1.get("memory") and v1.get("pids"):
        made = _make_v1(v1["memory"] / name, v1["pids"] / name, memory_bytes, max_processes)
        if made:
            return made
    for fstype, point, root, _ in mounts:
        if fstype == "cgroup2" and "" in own:
            parent = _folder(point, root, own[""])
            if parent is not None:
                made = _make_v2(parent / name, parent, memory_bytes, max_processes)
                if made:
                    return made
    return None


def _make_v1(memory: Path, pids: Path, memory_bytes: int, max_processes: int) -> CheckCgroup | None:
    group = CheckCgroup("v1", [])
    try:
        for folder in (memory, pids):
            folder.mkdir()
            group.folders.append(folder)
        (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap = memory / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(memory_bytes))
        # v1 counts TCP buffers apart from memory.limit_in_bytes, and by default not at all (v2 counts them
        # in memory.max): without this, one check held 2 GB of loopback TCP buffers against a 256 MB bound.
        tcp = memory / "memory.kmem.tcp.limit_in_bytes"
        if tcp.exists():
            tcp.write_text(str(memory_bytes // 4))
        (pids / "pids.max").write_text(str(max_processes))
    except OSError:
        group.remove()
        return None
    return group


def _make_v2(folder: Path, parent: Path, memory_bytes: int, max_processes: int) -> CheckCgroup | None:
    try:
        delegated = set((parent / "cgroup.subtree_control").read_text().split())
    except OSError:
        return None
    if not {"memory", "pids"} <= delegated:
        return None
    group = CheckCgroup("v2", [])
    try:
        folder.mkdir()
        group.folders.append(folder)
        (folder / "memory.max").write_text(str(memory_bytes))
        (folder / "memory.swap.max").write_text("0")
        (folder / "pids.max").write_text(str(max_processes))
    except OSError:
        group.remove()
        return None
    return group


# ---------------------------------------------------------------------------- the working folder
# Kernel memory per file on tmpfs (its inode and dentry), an estimate: the tmpfs size bounds data,
# not the number of (empty) files, and a check made 445,000 of them in 6 s here.
INODE_BYTES = 1024


def work_folder_bytes(namespace_init: int | None, *, size: int, folder: str = "/tmp") -> int:
    """What the check's tmpfs of `size` bytes holds (its data and INODE_BYTES per file), read through its init's root.

    No process maps this memory, so where no memory cgroup counts it the supervisor adds it.
    bwrap names its init (the info fd) before the init has made its mounts: until then the init's
    /tmp is the host's (a busy disk read as 30 GB held, which stopped checks for memory) or bwrap's
    own empty tmpfs. A filesystem larger than the check's tmpfs is not it, and holds nothing of the
    check: the check's program starts only after bwrap's pivot_root, and cannot mount.
    """
    if not namespace_init:
        return 0
    try:
        found = os.statvfs(f"/proc/{namespace_init}/root{folder}")
    except OSError:
        return 0
    if found.f_blocks * found.f_frsize > size:
        return 0
    return (found.f_blocks - found.f_bfree) * found.f_frsize + (found.f_files - found.f_ffree) * INODE_BYTES


# Socket queues (Unix sockets: a check has no IP sockets without a cgroup) are kernel memory no
# process maps: 24 processes with 30 filled socket pairs each held 290 MB here, about 200 KB a
# socket. Where no cgroup counts them, each open socket is charged this much, filled or not.
SOCKET_BYTES = 256 << 10


def socket_bytes(pids) -> int:
    """SOCKET_BYTES for every distinct socket the processes hold open."""
    sockets = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:"):
                sockets.add(target)
    return len(sockets) * SOCKET_BYTES


# ---------------------------------------------------------------------------- the process tree
def process_tree(root_pid: int) -> dict[int, tuple[int, float, int]]:
    """pid -> (parent pid, CPU seconds incl. reaped children, resident bytes) for root_pid and its descendants."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields[0] is the state (field 3 of stat); utime, stime, cutime, cstime are fields 14-17, rss 24.
        try:
            cpu = sum(int(f) for f in fields[11:15]) / _CLOCK_TICKS
            table[int(entry.name)] = (int(fields[1]), cpu, int(fields[21]) * _PAGE)
        except (IndexError, ValueError):
            continue
    tree, frontier = {}, [root_pid]
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    while frontier:
        pid = frontier.pop()
        if pid in table and pid not in tree:
            tree[pid] = table[pid]
            frontier.extend(children.get(pid, []))
    return tree


def usage(tree: dict[int, tuple[int, float, int]]) -> tuple[float, int]:
    """(CPU seconds, resident bytes) of a whole tree.

    A process's CPU time moves into its parent's cutime/cstime when it is reaped, so the sum over
    the live processes counts every process the check ever ran, once.
    """
    return sum(cpu for _, cpu, _ in tree.values()), sum(rss for _, _, rss in tree.values())


def kill_tree(root_pid: int, namespace_init: int | None) -> None:
    """SIGKILL the PID namespace's init first (the kernel then kills every process in it), then the rest."""
    if namespace_init:
        _kill(namespace_init)
    for pid in sorted(process_tree(root_pid), reverse=True):
        _kill(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
