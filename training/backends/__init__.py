"""Launch backends: how a run's trainer process is started, streamed, cancelled and reaped.

One module per backend, registered in BACKENDS (kind -> class). Only backends/docker.py
imports the docker SDK.
"""

from training.backends.base import BackendUnavailable, LaunchBackend, Layout
from training.backends.docker import DockerBackend
from training.backends.local import LocalBackend

BACKENDS: dict[str, type[LaunchBackend]] = {
    "local": LocalBackend,
    "docker": DockerBackend,
}


def choose_backend(requested: str, configured: str, *, allow_fallback: bool) -> type[LaunchBackend]:
    """The backend class for a run: its own request, else the setting; auto means docker when an engine answers.

    An explicit docker request with no engine raises BackendUnavailable unless fallback to local is allowed.
    """
    kind = requested if requested and requested != "auto" else configured
    if kind == "auto":
        return DockerBackend if DockerBackend.available() else LocalBackend
    backend = BACKENDS[kind]
    if not backend.available():
        if allow_fallback and kind != "local":
            return LocalBackend
        raise BackendUnavailable(f"the {kind} backend is not available: {backend.unavailable_reason()}")
    return backend


__all__ = ["BACKENDS", "BackendUnavailable", "LaunchBackend", "Layout", "choose_backend"]
