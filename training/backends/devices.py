"""Describing a worker's devices: NVIDIA GPUs via nvidia-smi, else CPU count and RAM."""

from __future__ import annotations

import os
import subprocess

_QUERY = "--query-gpu=index,name,memory.total,memory.used,utilization.gpu"


def parse_nvidia_smi(output: str) -> list[dict]:
    """Rows of nvidia-smi's CSV output (noheader, nounits) for the _QUERY columns."""
    devices = []
    for row in output.strip().splitlines():
        parts = [p.strip() for p in row.split(",")]
        if len(parts) != 5:
            continue
        index, name, total, used, util = parts
        devices.append({"kind": "gpu", "index": _int(index), "name": name, "memory_total_mb": _int(total),
                        "memory_used_mb": _int(used), "utilization_pct": _int(util),
                        "label": f"cuda:{index} ({name})"})
    return devices


def nvidia_smi_devices(command: list[str]) -> list[dict]:
    """Run nvidia-smi (the command may be prefixed, e.g. by a container runner); [] when it fails."""
    try:
        result = subprocess.run([*command, _QUERY, "--format=csv,noheader,nounits"], capture_output=True,
                                text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return parse_nvidia_smi(result.stdout) if result.returncode == 0 else []


def cpu_devices() -> list[dict]:
    return [{"kind": "cpu", "name": "CPU", "cpu_count": os.cpu_count() or 1, "memory_total_mb": _ram_mb(),
             "label": "cpu"}]


def _ram_mb() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError):
        return None


def _int(text: str):
    try:
        return int(float(text))
    except ValueError:
        return None
