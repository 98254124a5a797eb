"""What every launch backend provides, and the run folder layout they share."""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Iterator
from pathlib import Path


class BackendUnavailable(Exception):
    """The chosen backend cannot launch here (e.g. no Docker engine answers)."""


@dataclasses.dataclass(frozen=True)
class Layout:
    """Host paths of one run: its folder (read-write), the snapshot file and a local base model (read-only)."""

    run_dir: Path
    dataset: Path
    base_model: str
    local_model: Path | None  # set when base_model is a folder on this host


_END = object()


class LogLine(str):
    """An output line that can only be a log line: it came from the trainer's stderr, which
    libraries write to freely, so even a line shaped like a protocol event is not one."""


class LaunchBackend:
    """Start the trainer for one run, stream its output lines, stop it on request."""

    kind = "base"

    def __init__(self, run_id: int, layout: Layout):
        self.run_id = run_id
        self.layout = layout
        self._lines: queue.Queue = queue.Queue(maxsize=10_000)
        self._reader: threading.Thread | None = None

    # ---------------------------------------------------------------- per backend
    @classmethod
    def available(cls) -> bool:
        raise NotImplementedError

    @classmethod
    def unavailable_reason(cls) -> str:
        return "not available"

    @classmethod
    def devices(cls) -> list[dict]:
        """Devices this backend would train on (GPUs with memory/utilization, or CPU and RAM)."""
        raise NotImplementedError

    @classmethod
    def reap(cls, keep_run_ids: set[int]) -> list[str]:
        """Stop leftovers of runs not in keep_run_ids; return what was removed."""
        return []

    def spec(self, hyperparameters: dict, dataset_sha256: str) -> dict:
        """The trainer spec, with the paths as the trainer will see them."""
        raise NotImplementedError

    def start(self) -> dict:
        """Launch; return {"device": ..., "container_id": ..., "pid": ...}."""
        raise NotImplementedError

    def _raw_log_lines(self) -> Iterator[str]:
        """Lines from a separate log stream (the local trainer's stderr); none where there is none."""
        return iter(())

    def _raw_lines(self) -> Iterator[str]:
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the trainer to end; its exit code."""
        raise NotImplementedError

    def cancel(self, grace: float) -> None:
        """Stop the trainer: politely, then by force after `grace` seconds."""
        raise NotImplementedError

    def cleanup(self) -> None:
        """Release whatever the launch left behind (containers)."""

    # ---------------------------------------------------------------- shared
    def start_reader(self) -> None:
        """Read output on a thread so the caller can poll lines with a timeout (and check cancel meanwhile)."""

        sources = ((self._raw_lines, str), (self._raw_log_lines, LogLine))
        running = [len(sources)]
        lock = threading.Lock()

        def pump(read, kind):
            try:
                for line in read():
                    self._lines.put(kind(line))
            finally:
                with lock:
                    running[0] -= 1
                    last = running[0] == 0
                if last:  # the output has ended only when every stream has
                    self._lines.put(_END)

        self._readers = [threading.Thread(target=pump, args=source, name=f"run-{self.run_id}-reader-{n}",
                                          daemon=True) for n, source in enumerate(sources)]
        self._reader = self._readers[0]
        for reader in self._readers:
            reader.start()

    def next_lines(self, timeout: float) -> tuple[list[str], bool]:
        """Lines available within timeout, and whether the output ended."""
        lines: list[str] = []
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty:
            return lines, False
        while True:
            if item is _END:
                return lines, True
            lines.append(item)
            try:
                item = self._lines.get_nowait()
            except queue.Empty:
                return lines, False
