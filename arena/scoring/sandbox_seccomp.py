"""The syscall filter of an exam check's sandbox: a seccomp program bwrap loads (`--seccomp FD`) before the check runs.

Namespaces decide what a check can see; this decides which kernel interfaces it may use at all.
Refused with EPERM (the numbers are the kernel headers' own, per architecture):
- memory a process does not map, which no resident-memory sum sees and no tmpfs size bounds:
  memfd_create, memfd_secret, System V shared memory and message queues (shmget, msgget);
- another process's memory or a way around the per-process view: ptrace, process_vm_readv/writev,
  pidfd_getfd;
- the kernel keyrings (keyctl, add_key, request_key): a session keyring is inherited across the
  user namespace, and its possessor may read every key in it;
- large kernel attack surface an unprivileged check has no use for: io_uring, bpf, perf_event_open,
  userfaultfd, fanotify, mount and namespace calls, file handles, modules, kexec, swap, reboot,
  syslog, acct, quotactl, personality;
- a SIGCHLD disposition (rt_sigaction(SIGCHLD, act) with act set): children of a parent ignoring
  SIGCHLD are reaped by the kernel without adding their CPU time to any live process, so the
  supervisor's CPU sum would miss them. Reading the disposition (act NULL) is allowed.
- sockets of any family but Unix, netlink (both within the sandbox's namespaces) and IP:
  AF_VSOCK reaches the hypervisor and the VM's own vsock services past any network namespace,
  and the rest is attack surface;
- where no cgroup bounds a check's memory (`ip_sockets=False`), IP sockets too: TCP buffers on the
  sandbox's loopback are kernel memory no process maps, 2 GB of it measured from one check, and
  the host's TCP shares one budget (net.ipv4.tcp_mem).
A syscall of another ABI (i386 `int 0x80` or x32 on x86_64) is refused whole, since its numbers differ.
"""

import errno
import functools
import platform
import socket
import struct

# BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
_LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000
_DENY = 0x00050000 | errno.EPERM  # SECCOMP_RET_ERRNO
# struct seccomp_data: nr (u32), arch (u32), instruction pointer (u64), args (6 x u64, little-endian here).
_NR, _ARCH, _ARG0_LOW, _ARG1_LOW, _ARG1_HIGH = 0, 4, 16, 24, 28
_SIGCHLD = 17
_X32_BIT = 0x40000000

_DENIED = ("memfd_create", "memfd_secret", "shmget", "msgget",
           "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
           "keyctl", "add_key", "request_key",
           "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "userfaultfd",
           "fanotify_init", "unshare", "setns", "mount", "umount2", "pivot_root", "open_tree", "move_mount",
           "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "name_to_handle_at", "open_by_handle_at",
           "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "swapon", "swapoff",
           "reboot", "syslog", "acct", "quotactl", "quotactl_fd", "lookup_dcookie", "personality")

# Syscalls added since Linux 5.1 (424 on) share one number across architectures, these two included.
_NUMBERED_ALIKE = {
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_getfd": 438, "mount_setattr": 442,
    "quotactl_fd": 443, "memfd_secret": 447}
# AUDIT_ARCH_* and the older syscall numbers from asm/unistd_64.h (x86_64) and asm-generic/unistd.h (aarch64).
_ARCHITECTURES = {
    "x86_64": (0xC000003E, {
        "rt_sigaction": 13, "shmget": 29, "msgget": 68, "ptrace": 101, "syslog": 103, "personality": 135,
        "pivot_root": 155, "acct": 163, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168,
        "reboot": 169, "init_module": 175, "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212,
        "socket": 41, "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
        "perf_event_open": 298, "fanotify_init": 300, "name_to_handle_at": 303, "open_by_handle_at": 304,
        "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "finit_module": 313,
        "memfd_create": 319, "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, **_NUMBERED_ALIKE}),
    "aarch64": (0xC00000B7, {
        "lookup_dcookie": 18, "umount2": 39, "mount": 40, "pivot_root": 41, "quotactl": 60, "acct": 89,
        "personality": 92, "unshare": 97, "kexec_load": 104, "init_module": 105, "delete_module": 106,
        "syslog": 116, "ptrace": 117, "rt_sigaction": 134, "reboot": 142, "msgget": 186, "shmget": 194,
        "socket": 198, "add_key": 217, "request_key": 218, "keyctl": 219, "swapon": 224, "swapoff": 225,
        "perf_event_open": 241, "fanotify_init": 262, "name_to_handle_at": 264, "open_by_handle_at": 265,
        "setns": 268, "process_vm_readv": 270, "process_vm_writev": 271, "finit_module": 273,
        "memfd_create": 279, "bpf": 280, "userfaultfd": 282, "kexec_file_load": 294, **_NUMBERED_ALIKE}),
}
_ARCHITECTURES["arm64"] = _ARCHITECTURES["aarch64"]


def syscall_number(name: str, machine: str | None = None) -> int | None:
    """A syscall's number on this architecture (None where the filter does not know the architecture)."""
    known = _ARCHITECTURES.get(machine or platform.machine())
    return known[1][name] if known else None


def keyctl_number(machine: str | None = None) -> int | None:
    return syscall_number("keyctl", machine)


@functools.cache
def filter_program(machine: str | None = None, *, ip_sockets: bool = True) -> bytes | None:
    """The compiled filter (struct sock_filter[]) for this architecture, or None where it has no syscall table."""
    known = _ARCHITECTURES.get(machine or platform.machine())
    if known is None:
        return None
    arch, numbers = known
    program: list = [(_LD_ABS, 0, 0, _ARCH), (_JEQ, 1, 0, arch), (_RET, 0, 0, _DENY), (_LD_ABS, 0, 0, _NR)]
    if arch == 0xC000003E:
        program.append((_JGE, "deny", 0, _X32_BIT))
    program += [(_JEQ, "deny", 0, numbers[name]) for name in _DENIED]
    # socket(): the accumulator then holds the family, and every path ends in allow or deny.
    families = [socket.AF_UNIX, socket.AF_NETLINK] + ([socket.AF_INET, socket.AF_INET6] if ip_sockets else [])
    program += [(_JEQ, 0, "signals", numbers["socket"]), (_LD_ABS, 0, 0, _ARG0_LOW)]
    program += [(_JEQ, "allow", 0, family) for family in families] + [(_RET, 0, 0, _DENY)]
    program += ["signals", (_JEQ, 0, "allow", numbers["rt_sigaction"]),
                (_LD_ABS, 0, 0, _ARG0_LOW), (_JEQ, 0, "allow", _SIGCHLD),
                (_LD_ABS, 0, 0, _ARG1_LOW), (_JEQ, 0, "deny", 0),
                (_LD_ABS, 0, 0, _ARG1_HIGH), (_JEQ, "allow", "deny", 0),
                "allow", (_RET, 0, 0, _ALLOW), "deny", (_RET, 0, 0, _DENY)]
    labels, instructions = {}, []
    for entry in program:
        if isinstance(entry, str):
            labels[entry] = len(instructions)
        else:
            instructions.append(entry)
    compiled = bytearray()
    for index, (code, jump_true, jump_false, k) in enumerate(instructions):
        offsets = [labels[j] - index - 1 if isinstance(j, str) else j for j in (jump_true, jump_false)]
        compiled += struct.pack("=HBBI", code, *offsets, k)
    return bytes(compiled)
