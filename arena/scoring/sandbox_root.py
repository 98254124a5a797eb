"""The read-only root of an exam check's sandbox: one Python interpreter, its standard library
and the shared libraries they load, bound at their own paths, and nothing else.

The interpreter is the server's own Python version (major.minor), because an exam's `test` is
compiled by the server's Python at import: the sandbox must accept the same syntax. Debian's
`/usr/bin/python3.X` is taken when it is that version (its files are readable by the
unprivileged user the check runs as); else the server's base interpreter (`sys.base_prefix`,
never the virtualenv: its site-packages are not needed).
"""

import dataclasses
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

# What the interpreter says about itself (run unsandboxed: trusted code, trusted interpreter).
_DESCRIBE = ("import json, sys, sysconfig; print(json.dumps({'stdlib': sysconfig.get_path('stdlib'), "
             "'platstdlib': sysconfig.get_path('platstdlib'), 'purelib': sysconfig.get_path('purelib'), "
             "'dynload': [p for p in sys.path if p.endswith('lib-dynload')]}))")
_LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


class RootError(RuntimeError):
    """No interpreter the sandbox can run; the message says why."""


@dataclasses.dataclass(frozen=True)
class Root:
    executable: str
    # (source, destination) pairs, bound read-only; `masked` folders are covered by an empty read-only tmpfs.
    binds: tuple[tuple[str, str], ...]
    masked: tuple[str, ...]
    library_path: str

    def paths(self) -> list[str]:
        return [self.executable, *(source for source, _ in self.binds)]


def choose_interpreter() -> Path:
    """Debian's python3.X when it matches the server's version, else the server's base interpreter."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [Path("/usr/bin") / name, Path(sys.base_prefix) / "bin" / name,
                  Path(getattr(sys, "_base_executable", sys.executable))]
    for candidate in candidates:
        real = candidate.resolve()
        if real.is_file() and os.access(real, os.X_OK):
            return real
    raise RootError(f"no {name} interpreter found (looked at {', '.join(map(str, candidates))})")


def build_root(interpreter: Path) -> Root:
    """The binds that let `interpreter` start with its standard library and nothing more."""
    try:
        described = subprocess.run([str(interpreter), "-I", "-S", "-c", _DESCRIBE], capture_output=True,
                                   text=True, timeout=30, env={}, check=True)
        info = json.loads(described.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise RootError(f"{interpreter} could not describe its standard library: {exc}") from exc
    folders = {info["stdlib"], info["platstdlib"], *info["dynload"]}
    folders = sorted(f for f in folders if not any(f != o and f.startswith(o + "/") for o in folders))
    objects = [str(interpreter), *(str(p) for d in info["dynload"] for p in Path(d).glob("*.so"))]
    libraries = _shared_libraries(objects)
    binds = [(str(interpreter), str(interpreter))]
    binds += [(folder, folder) for folder in folders]
    binds += [(os.path.realpath(lib), lib) for lib in sorted(libraries)
              if not any(lib.startswith(folder + "/") for folder in folders)]
    masked = tuple(p for p in (info["purelib"],) if p and Path(p).is_dir() and any(
        p.startswith(folder + "/") for folder in folders))
    library_path = ":".join(sorted({str(Path(lib).parent) for lib in libraries}))
    return Root(str(interpreter), tuple(binds), masked, library_path)


def _shared_libraries(objects: list[str]) -> set[str]:
    """Every shared library `objects` load, as ldd resolves them (the dynamic loader included)."""
    found: set[str] = set()
    for start in range(0, len(objects), 50):
        try:
            listed = subprocess.run(["ldd", *objects[start:start + 50]], capture_output=True, text=True,
                                    timeout=60, env={"PATH": "/usr/bin:/bin"})
        except (OSError, subprocess.SubprocessError) as exc:
            raise RootError(f"ldd could not list the interpreter's libraries: {exc}") from exc
        if "not found" in listed.stdout:
            missing = [line.split()[0] for line in listed.stdout.splitlines() if "not found" in line]
            raise RootError(f"the interpreter's libraries are not all present: {', '.join(sorted(set(missing)))}")
        found |= {match.group(1) for match in _LDD_PATH.finditer(listed.stdout)}
    return found


def unreadable_by_others(paths: list[str]) -> list[str]:
    """The paths an unprivileged user could not read (a folder on the way without o+x, a file without o+r)."""
    refused = []
    for path in paths:
        real = Path(os.path.realpath(path))
        for folder in reversed(real.parents):
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                refused.append(f"{path} (folder {folder})")
                break
        else:
            mode = os.stat(real).st_mode
            if not mode & stat.S_IROTH or (stat.S_ISDIR(mode) and not mode & stat.S_IXOTH):
                refused.append(path)
    return refused
