"""Request bodies of the curation API (see accounts.payloads)."""

from typing import Any, Literal

from accounts.payloads import Payload
from curation.pipeline.exporters import EXPORTERS


class RegisterRepository(Payload):
    path: str
    name: str = ""
    branch: str = ""


class StartBuild(Payload):
    """Name and format; the rest overrides the build configuration (checked by curation.pipeline.config.BuildConfig)."""

    name: str
    format: Literal[tuple(EXPORTERS)] = "alpaca"
    sources: list[str] | None = None
    filters: dict[str, Any] | None = None
    secrets_mode: str | None = None
    dedup: dict[str, Any] | None = None
    split: dict[str, Any] | None = None
    mix: dict[str, Any] | None = None
    seed: int | None = None

    def overrides(self) -> dict:
        overrides = self.model_dump(exclude_none=True, exclude={"name", "format", "seed"})
        if self.seed is not None:
            overrides["split"] = {**overrides.get("split", {}), "seed": self.seed}
        return overrides
