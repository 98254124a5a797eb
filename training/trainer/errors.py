"""Errors the trainer reports as `{"event": "error", "kind": ..., "message": ...}`."""

from __future__ import annotations

OOM_MESSAGE = "out of memory: lower batch size or max sequence length"


class TrainerError(Exception):
    """A failure with a protocol kind (oom, model_not_found, dataset, spec, crash) and a human message."""

    kind = "crash"

    def __init__(self, message: str, *, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class SpecError(TrainerError):
    kind = "spec"


class DatasetError(TrainerError):
    kind = "dataset"


class ModelNotFoundError(TrainerError):
    kind = "model_not_found"


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/CPU allocation failures, whatever class the torch build raises."""
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    text = str(exc).lower()
    # CUDA says "out of memory"; torch's CPU allocator says "can't allocate memory".
    return name == "OutOfMemoryError" or (
        isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)
    )
