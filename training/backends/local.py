"""The trainer as a child process of the worker, in its own process group.

Started from an argument list (never a shell). Cancel sends SIGTERM to the whole group,
then SIGKILL after the grace period, so DataLoader workers and other grandchildren go too.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from training import model_store
from training.backends.base import LaunchBackend
from training.backends.devices import cpu_devices, nvidia_smi_devices

# Environment the trainer must not inherit: it never needs the site's secrets.
_SECRET_ENV = re.compile(r"(SECRET|PASSWORD|TOKEN|DATABASE_URL|REDIS_URL|_FILE$)", re.IGNORECASE)
_SPEC_IN_CMDLINE = re.compile(r"runs/(\d+)/spec\.json$")


def _python() -> str:
    return settings.TRAINING_PYTHON or sys.executable


def _child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not _SECRET_ENV.search(k)}
    root = str(settings.BASE_DIR)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    if not settings.ENABLE_GPU:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


class LocalBackend(LaunchBackend):
    kind = "local"

    def __init__(self, run_id, layout):
        super().__init__(run_id, layout)
        self.process: subprocess.Popen | None = None

    @classmethod
    def available(cls) -> bool:
        return True

    @classmethod
    def devices(cls) -> list[dict]:
        if settings.ENABLE_GPU and shutil.which("nvidia-smi"):
            gpus = nvidia_smi_devices(["nvidia-smi"])
            if gpus:
                return gpus
        return cpu_devices()

    def spec(self, hyperparameters: dict, dataset_sha256: str) -> dict:
        # A Hugging Face id stored by `manage.py fetch_base_model` is trained from its folder, offline.
        stored = model_store.resolve(self.layout.base_model)
        base = str(stored) if stored is not None else self.layout.base_model
        return {"base_model": base, "dataset_path": str(self.layout.dataset),
                "output_dir": str(self.layout.run_dir), "hyperparameters": hyperparameters,
                "device": "auto" if settings.ENABLE_GPU else "cpu", "backend": "auto",
                "dataset_sha256": dataset_sha256}

    def start(self) -> dict:
        spec_path = self.layout.run_dir / "spec.json"
        self.process = subprocess.Popen(
            [_python(), "-m", settings.TRAINING_TRAINER_MODULE, "--spec", str(spec_path)],
            cwd=self.layout.run_dir, env=_child_env(), stdin=subprocess.DEVNULL,
            # The protocol is stdout alone: stderr (tracebacks, warnings, library chatter) is read
            # separately and only ever stored as log lines, so no library can forge an event.
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            text=True, encoding="utf-8", errors="replace", bufsize=1,
        )
        devices = self.devices()
        device = devices[0].get("label", "cpu") if devices else "cpu"
        return {"device": device, "container_id": "", "pid": self.process.pid}

    def _raw_lines(self) -> Iterator[str]:
        yield from self.process.stdout

    def _raw_log_lines(self) -> Iterator[str]:
        yield from self.process.stderr

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout=timeout)

    def cancel(self, grace: float) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def cleanup(self) -> None:
        if self.process is not None:
            for stream in (self.process.stdout, self.process.stderr):
                if stream:
                    stream.close()

    @classmethod
    def reap(cls, keep_run_ids: set[int]) -> list[str]:
        """Kill trainer process groups on this host whose run is no longer active."""
        root = Path(settings.DATA_DIR).resolve()
        removed = []
        for pid, run_id in _trainer_processes(root, settings.TRAINING_TRAINER_MODULE):
            if run_id not in keep_run_ids:
                _signal_group(pid, signal.SIGKILL)
                removed.append(f"pid {pid} (run {run_id})")
        return removed


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(os.getpgid(pid), sig)
    except (ProcessLookupError, PermissionError):
        pass


def _trainer_processes(root: Path, module: str) -> Iterator[tuple[int, int]]:
    """(pid, run id) of trainer processes whose spec lies under this data root."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        argv = [a.decode(errors="replace") for a in args if a]
        if module not in argv or "--spec" not in argv:
            continue
        spec = argv[argv.index("--spec") + 1] if argv.index("--spec") + 1 < len(argv) else ""
        match = _SPEC_IN_CMDLINE.search(spec)
        if match and Path(spec).is_relative_to(root) and _leads_own_group(int(entry.name)):
            yield int(entry.name), int(match.group(1))


def _leads_own_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:  # it exited after its cmdline was read
        return False


def wait_gone(pid: int, timeout: float) -> bool:
    """True once the process no longer exists (or is a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False
