"""The shape of DatasetBuild.config, checked by the service before a build is recorded.

Every range and choice comes from the build configuration's own tables (curation.pipeline.config:
_NUMBERS, _MIX_LIMITS, SECRETS_MODES, REVIEWED_SHARE_BELOW), SOURCES and EXPORTERS; nothing here
repeats a number. The stored config is kept exactly as build_config() made it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, create_model, model_validator

from accounts.payloads import Shape, check_shape
from curation.pipeline.config import _MIX_LIMITS, _NUMBERS, REVIEWED_SHARE_BELOW, SECRETS_MODES
from curation.pipeline.exporters import EXPORTERS
from curation.pipeline.sources import SOURCES

Source = Literal[tuple(SOURCES)]


def _section(name: str, **extra):
    fields = {key: (kind, Field(ge=low, le=high)) for section, key, kind, low, high in _NUMBERS if section == name}
    return create_model(f"Build{name.capitalize()}", __base__=Shape, **fields, **extra)


BuildFilters = _section("filters", drop_failed=(bool, ...))
BuildDedup = _section("dedup")
BuildSplit = _section("split")
BuildMix = create_model(
    "BuildMix",
    __base__=Shape,
    **{key: (dict[Source, Annotated[kind, Field(ge=0, le=high)]], ...) for key, kind, high in _MIX_LIMITS},
    min_reviewed_share=(float, Field(ge=0, lt=REVIEWED_SHARE_BELOW)),
)


class BuildConfig(Shape):
    """DatasetBuild.config (and the DatasetSnapshot's copy of it)."""

    sources: Annotated[list[Source], Field(min_length=1)]
    format: Literal[tuple(EXPORTERS)]
    filters: BuildFilters
    secrets_mode: Literal[SECRETS_MODES]
    dedup: BuildDedup
    split: BuildSplit
    mix: BuildMix

    @model_validator(mode="after")
    def _chars_in_order(self):
        if self.filters.min_chars > self.filters.max_chars:
            raise ValueError("filters.min_chars must not exceed filters.max_chars")
        return self


def check_build_config(config: dict) -> None:
    """ValidationError naming "config.<section>.<key>" unless `config` fits BuildConfig."""
    check_shape(BuildConfig, config, field="config")
