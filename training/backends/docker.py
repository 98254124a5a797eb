"""The trainer in a Docker container (the only module that imports the docker SDK).

Mounts: run folder read-write, snapshot file and a local base model read-only, the models
root (training.model_store, filled by `manage.py fetch_base_model`) read-only with the
Hugging Face cache variables pointing at it, our trainer code read-only. No network unless
TRAINING_DOCKER_ALLOW_NETWORK, and then a base model that is not stored is refused before
the container starts, with the command that fetches it; memory and pids limits;
every container is labelled with its run id and this deployment's data root, which is how
the reaper finds orphans without touching anyone else's containers.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
from django.conf import settings
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import DeviceRequest

from training import model_store
from training.backends.base import BackendUnavailable, LaunchBackend
from training.backends.devices import cpu_devices, parse_nvidia_smi

RUN_LABEL = "academy.run_id"
ROOT_LABEL = "academy.data_root"
CODE_DIR = "/opt/academy"
RUN_DIR = "/academy/run"
DATASET_DIR = "/academy/dataset"
MODEL_DIR = "/academy/model"
MODELS_DIR = "/academy/models"
_PING_TTL = 10.0
_state: dict = {}
_lock = threading.Lock()


def client() -> docker.DockerClient:
    """A client for the engine named by DOCKER_HOST (or the default socket)."""
    return docker.from_env(timeout=60)


def root_label() -> str:
    return hashlib.sha256(str(Path(settings.DATA_DIR).resolve()).encode()).hexdigest()[:16]


def _ping() -> str | None:
    """None when an engine answers, else why not (cached a few seconds)."""
    with _lock:
        cached = _state.get("ping")
        if cached and time.monotonic() - cached[0] < _PING_TTL:
            return cached[1]
    try:
        c = docker.from_env(timeout=3)
        c.ping()
        c.close()
        reason = None
    except (DockerException, OSError) as exc:
        reason = f"no Docker engine answers ({exc.__class__.__name__}: {str(exc)[:200]})"
    with _lock:
        _state["ping"] = (time.monotonic(), reason)
    return reason


def gpu_available(c: docker.DockerClient) -> bool:
    """GPUs usable from containers: the nvidia runtime is registered, or a probe sees nvidia-smi (cached)."""
    if not settings.ENABLE_GPU:
        return False
    with _lock:
        if "gpu" in _state:
            return _state["gpu"]
    found = "nvidia" in (c.info().get("Runtimes") or {}) or bool(_probe_gpus(c))
    with _lock:
        _state["gpu"] = found
    return found


def _probe_gpus(c: docker.DockerClient) -> list[dict]:
    try:
        output = c.containers.run(
            settings.TRAINING_IMAGE, ["nvidia-smi", "--query-gpu=index,name,memory.total,memory.used,utilization.gpu",
                                      "--format=csv,noheader,nounits"],
            device_requests=[DeviceRequest(count=-1, capabilities=[["gpu"]])], network_mode="none",
            remove=True, labels={ROOT_LABEL: root_label(), "academy.probe": "gpu"})
    except (DockerException, OSError):
        return []
    return parse_nvidia_smi(output.decode(errors="replace"))


class DockerBackend(LaunchBackend):
    kind = "docker"

    def __init__(self, run_id, layout):
        super().__init__(run_id, layout)
        self.client: docker.DockerClient | None = None
        self.container = None

    @classmethod
    def available(cls) -> bool:
        return _ping() is None

    @classmethod
    def unavailable_reason(cls) -> str:
        return _ping() or "available"

    @classmethod
    def devices(cls) -> list[dict]:
        c = client()
        try:
            if gpu_available(c):
                gpus = _probe_gpus(c)
                if gpus:
                    return gpus
            info = c.info()
            cpu = cpu_devices()[0]
            cpu.update(cpu_count=info.get("NCPU", cpu["cpu_count"]),
                       memory_total_mb=(info.get("MemTotal") or 0) // (1024 * 1024) or cpu["memory_total_mb"])
            return [cpu]
        finally:
            c.close()

    def spec(self, hyperparameters: dict, dataset_sha256: str) -> dict:
        base = self.layout.base_model
        if self.layout.local_model:
            base = MODEL_DIR
        elif model_store.resolve(base) is not None:
            base = f"{MODELS_DIR}/{model_store.folder_name(base)}"
        return {"base_model": base, "dataset_path": f"{DATASET_DIR}/{self.layout.dataset.name}",
                "output_dir": RUN_DIR, "hyperparameters": hyperparameters, "device": "auto", "backend": "auto",
                "dataset_sha256": dataset_sha256}

    def _volumes(self) -> dict:
        volumes = {
            str(self.layout.run_dir): {"bind": RUN_DIR, "mode": "rw"},
            str(self.layout.dataset): {"bind": f"{DATASET_DIR}/{self.layout.dataset.name}", "mode": "ro"},
            str(Path(settings.BASE_DIR) / "training"): {"bind": f"{CODE_DIR}/training", "mode": "ro"},
        }
        if self.layout.local_model:
            volumes[str(self.layout.local_model)] = {"bind": MODEL_DIR, "mode": "ro"}
        if model_store.models_root().is_dir():
            volumes[str(model_store.models_root())] = {"bind": MODELS_DIR, "mode": "ro"}
        for mount in settings.TRAINING_DOCKER_EXTRA_MOUNTS:
            host, _, inside = mount.partition(":")
            volumes[host] = {"bind": inside or host, "mode": "ro"}
        return volumes

    def _environment(self) -> dict:
        path = ":".join(p for p in (CODE_DIR, settings.TRAINING_DOCKER_PYTHONPATH) if p)
        env = {"PYTHONPATH": path, "PYTHONUNBUFFERED": "1", "HOME": "/tmp"}
        if not settings.TRAINING_DOCKER_ALLOW_NETWORK:
            # The read-only models root is the Hugging Face home: nothing is downloaded or written there.
            env.update(HF_HOME=MODELS_DIR, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        return env

    def check_base_model(self) -> None:
        """Without network the base model must be here: refuse now, naming the command that fetches it."""
        if self.layout.local_model or settings.TRAINING_DOCKER_ALLOW_NETWORK:
            return
        try:
            model_store.require(self.layout.base_model)
        except model_store.BaseModelMissing as exc:
            raise BackendUnavailable(str(exc)) from exc

    def start(self) -> dict:
        self.check_base_model()
        self.client = client()
        try:
            gpu = gpu_available(self.client)
            self.container = self.client.containers.run(
                settings.TRAINING_IMAGE,
                [settings.TRAINING_DOCKER_PYTHON, "-m", "training.trainer", "--spec", f"{RUN_DIR}/spec.json"],
                detach=True, labels={RUN_LABEL: str(self.run_id), ROOT_LABEL: root_label()},
                volumes=self._volumes(), environment=self._environment(), working_dir=RUN_DIR,
                user=f"{os.getuid()}:{os.getgid()}",
                network_mode="bridge" if settings.TRAINING_DOCKER_ALLOW_NETWORK else "none",
                mem_limit=settings.TRAINING_DOCKER_MEM_LIMIT or None,
                shm_size=settings.TRAINING_DOCKER_SHM_SIZE or None,
                pids_limit=settings.TRAINING_DOCKER_PIDS_LIMIT,
                device_requests=[DeviceRequest(count=-1, capabilities=[["gpu"]])] if gpu else None,
            )
        except ImageNotFound as exc:
            raise BackendUnavailable(f"training image {settings.TRAINING_IMAGE!r} is not on this Docker engine: "
                                     "build it with docker/trainer.Dockerfile") from exc
        except (APIError, DockerException) as exc:
            raise BackendUnavailable(f"Docker could not start the training container: {exc}") from exc
        return {"device": "cuda (docker, all GPUs)" if gpu else "cpu (docker)", "container_id": self.container.id,
                "pid": None}

    def _raw_lines(self) -> Iterator[str]:
        # The protocol is the container's stdout alone; stderr is a separate log-only stream.
        return _lines(self.container.logs(stream=True, follow=True, stdout=True, stderr=False))

    def _raw_log_lines(self) -> Iterator[str]:
        return _lines(self.container.logs(stream=True, follow=True, stdout=False, stderr=True))

    def wait(self, timeout: float | None = None) -> int:
        return int(self.container.wait(timeout=timeout).get("StatusCode", -1))

    def cancel(self, grace: float) -> None:
        if self.container is None:
            return
        try:
            self.container.stop(timeout=int(max(grace, 0)))
        except NotFound:
            pass

    def cleanup(self) -> None:
        if self.container is not None:
            try:
                self.container.remove(force=True)
            except NotFound:
                pass
        if self.client is not None:
            self.client.close()

    @classmethod
    def reap(cls, keep_run_ids: set[int]) -> list[str]:
        """Remove this deployment's training containers whose run is no longer active."""
        if not cls.available():
            return []
        c = client()
        removed = []
        try:
            ours = {"label": [RUN_LABEL, f"{ROOT_LABEL}={root_label()}"]}
            for container in c.containers.list(all=True, filters=ours):
                run_id = int(container.labels.get(RUN_LABEL, "0") or 0)
                if run_id not in keep_run_ids:
                    try:
                        container.remove(force=True)
                        removed.append(f"container {container.short_id} (run {run_id})")
                    except NotFound:
                        pass
        finally:
            c.close()
        return removed


def _lines(chunks) -> Iterator[str]:
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield line.decode("utf-8", errors="replace")
    if buffer:
        yield buffer.decode("utf-8", errors="replace")
