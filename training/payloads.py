"""Request bodies of the training API (see accounts.payloads)."""

from typing import Any, Literal

from pydantic import Field

from accounts.payloads import Payload


class StartRun(Payload):
    dataset: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of a dataset snapshot")
    base_model: str | None = None
    backend: Literal["auto", "docker", "local"] = "auto"
    # Each value is checked by the trainer's own ranges (training.trainer.spec), naming the field.
    hyperparameters: dict[str, Any] | None = None
    requirements: dict[str, Any] | None = None
