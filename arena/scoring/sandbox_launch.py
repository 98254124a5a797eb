"""Launcher of an exam check's sandbox, run as its own small process: `python -I -S sandbox_launch.py SPEC`.

It joins the check's cgroups, sets the rlimits, drops to the unprivileged user when started
as root, leaves the worker's session keyring for a new empty one (a keyring's possessor may
read every key in it, and bwrap keeps the session keyring), and replaces itself with bwrap.
Doing this in a fresh single-threaded process (not in a `preexec_fn` of the multi-threaded
worker) keeps fork-then-exec safe. No Django import.
SPEC is JSON: {"cgroup_procs": [...], "limits": {"RLIMIT_AS": n, ...}, "uid": n|null, "keyctl": n|null,
"argv": [...]} (keyctl: the syscall's number on this architecture).
"""

import ctypes
import errno
import json
import os
import resource
import sys

FAILED = 125  # the exit code that means "the sandbox did not start" (bwrap never ran)
KEYCTL_JOIN_SESSION_KEYRING = 1


def main(spec: dict) -> None:
    for procs in spec["cgroup_procs"]:
        with open(procs, "w") as handle:
            handle.write(str(os.getpid()))
    for name, value in spec["limits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if spec["uid"] is not None:
        os.setgroups([])
        os.setgid(spec["uid"])
        os.setuid(spec["uid"])
        if os.getuid() == 0 or os.geteuid() == 0:
            raise PermissionError("could not drop root")
    if spec.get("keyctl") is not None:
        _join_new_session_keyring(spec["keyctl"])
    os.execve(spec["argv"][0], spec["argv"], {})


def _join_new_session_keyring(keyctl: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(keyctl, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EPERM):  # no keyrings here, or a filter refuses them (the check's too)
            raise OSError(code, f"could not leave the worker's session keyring: {os.strerror(code)}")


if __name__ == "__main__":
    try:
        main(json.loads(sys.argv[1]))
    except Exception as exc:  # anything here means no sandbox: say so and use the code the caller knows
        sys.stderr.write(f"sandbox launcher: {type(exc).__name__}: {exc}\n")
        sys.exit(FAILED)
