"""What a run needs and what a training worker has: capability classes, one Celery queue each.

Routing is Celery's own, by queue; there is no scheduler of ours. A run is sent to the queue
of the smallest class that satisfies it:

    training.cpu           no GPU needed
    training.gpu           any GPU
    training.gpu-24g       a GPU with at least 24 GB (classes: TRAINING_GPU_MEMORY_CLASSES)
    <any of these>.docker  the run asks for the docker backend explicitly

A worker started with `-Q training` consumes the queue of every class its devices and
backends satisfy (training.tasks adds them when the worker starts), so a CPU-only worker
never even receives a GPU-sized run. Host memory is not a queue dimension: a worker that
lacks the RAM a run states leaves the run queued for another (training.tasks.execute_run).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

QUEUE_PREFIX = "training"
DOCKER_SUFFIX = ".docker"
# Cards report a little less than their nominal size (an "80 GB" H100: 81559 MiB).
_NOMINAL = 0.95


@dataclass(frozen=True)
class Requirements:
    """A run's needs: a GPU (with at least gpu_memory_gb on it), host RAM, a launch backend."""

    gpu: bool = False
    gpu_memory_gb: int = 0
    memory_gb: int = 0
    backend: str = "auto"

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def summary(self) -> str:
        parts = [f"GPU ≥ {self.gpu_memory_gb} GB" if self.gpu_memory_gb else "GPU" if self.gpu else "CPU"]
        if self.memory_gb:
            parts.append(f"RAM ≥ {self.memory_gb} GB")
        if self.backend != "auto":
            parts.append(self.backend)
        return ", ".join(parts)


def parse_requirements(raw: dict | None, *, backend: str = "auto") -> Requirements:
    """Requirements from plain values; ValidationError names each bad field."""
    raw = dict(raw or {})
    errors: dict[str, str] = {}
    values = {}
    for name in ("gpu_memory_gb", "memory_gb"):
        value = raw.get(name) or 0
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4096:
            errors[name] = f"{name}: a whole number of GB from 0 to 4096"
        else:
            values[name] = value
    gpu = raw.get("gpu", False)
    if not isinstance(gpu, bool):
        errors["gpu"] = "gpu: true or false"
    if errors:
        raise ValidationError(errors)
    requirements = Requirements(gpu=gpu or values["gpu_memory_gb"] > 0, backend=backend, **values)
    gpu_class(requirements)  # refuses a GPU size no class holds
    return requirements


def requirements_of(run) -> Requirements:
    stored = {k: v for k, v in (run.requirements or {}).items() if k in Requirements.__dataclass_fields__}
    return Requirements(**stored)


def gpu_memory_classes() -> list[int]:
    return sorted(set(settings.TRAINING_GPU_MEMORY_CLASSES))


def gpu_class(requirements: Requirements) -> int | None:
    """The smallest GPU memory class (GB) holding the run; None: any GPU (or no GPU) will do."""
    if not requirements.gpu_memory_gb:
        return None
    for size in gpu_memory_classes():
        if size >= requirements.gpu_memory_gb:
            return size
    raise ValidationError({"gpu_memory_gb": f"gpu_memory_gb: no worker class holds {requirements.gpu_memory_gb} GB; "
                                            f"classes are {', '.join(f'{c} GB' for c in gpu_memory_classes())} "
                                            "(TRAINING_GPU_MEMORY_CLASSES)"})


def queue_for(requirements: Requirements) -> str:
    """The Celery queue a run with these requirements is sent to."""
    if not requirements.gpu:
        name = f"{QUEUE_PREFIX}.cpu"
    else:
        size = gpu_class(requirements)
        name = f"{QUEUE_PREFIX}.gpu-{size}g" if size else f"{QUEUE_PREFIX}.gpu"
    return name + (DOCKER_SUFFIX if requirements.backend == "docker" else "")


def worker_queues(devices: list[dict], backends: list[str]) -> list[str]:
    """The capability queues a worker with these devices and backends consumes."""
    names = [f"{QUEUE_PREFIX}.cpu"]
    gpu_mb = _largest_gpu_mb(devices)
    if gpu_mb is not None:
        names.append(f"{QUEUE_PREFIX}.gpu")
        names += [f"{QUEUE_PREFIX}.gpu-{size}g" for size in gpu_memory_classes() if _holds(gpu_mb, size)]
    if "docker" in backends:
        names += [name + DOCKER_SUFFIX for name in names]
    return names


def refusal(requirements: Requirements, devices: list[dict], backends: list[str]) -> str:
    """Why a worker with these devices and backends cannot run it ("" when it can)."""
    gpu_mb = _largest_gpu_mb(devices)
    if requirements.gpu and gpu_mb is None:
        return "it needs a GPU and this worker has none"
    if requirements.gpu_memory_gb and not _holds(gpu_mb or 0, requirements.gpu_memory_gb):
        return f"it needs a GPU with {requirements.gpu_memory_gb} GB and this worker's largest has {gpu_mb} MiB"
    ram_mb = _ram_mb(devices)
    if requirements.memory_gb and ram_mb is not None and not _holds(ram_mb, requirements.memory_gb):
        return f"it needs {requirements.memory_gb} GB of RAM and this worker has {ram_mb} MiB"
    if requirements.backend not in ("", "auto") and requirements.backend not in backends:
        return f"it needs the {requirements.backend} backend and this worker offers {', '.join(backends) or 'none'}"
    return ""


def capable_workers(requirements: Requirements, workers) -> list:
    """Those of `workers` (TrainingWorker rows) that can run it."""
    return [w for w in workers if not refusal(requirements, w.devices or [], w.backends or [])]


_SHOWN_REFUSALS = 3


def capacity_problem(requirements: Requirements, workers) -> str:
    """Why none of `workers` (TrainingWorker rows) can run it, worker by worker ("" when one can or there are
    none)."""
    reasons = []
    for worker in workers:
        reason = refusal(requirements, worker.devices or [], worker.backends or [])
        if not reason:
            return ""
        reasons.append(f"{worker.hostname}: {reason}")
    more = len(reasons) - _SHOWN_REFUSALS
    return "; ".join(reasons[:_SHOWN_REFUSALS]) + (f"; and {more} more" if more > 0 else "")


def _holds(memory_mb: int, nominal_gb: int) -> bool:
    return memory_mb >= nominal_gb * 1024 * _NOMINAL


def _largest_gpu_mb(devices: list[dict]) -> int | None:
    gpus = [d.get("memory_total_mb") or 0 for d in devices if d.get("kind") == "gpu"]
    return max(gpus) if gpus else None


def _ram_mb(devices: list[dict]) -> int | None:
    ram = [d.get("memory_total_mb") for d in devices if d.get("kind") == "cpu" and d.get("memory_total_mb")]
    return max(ram) if ram else None
