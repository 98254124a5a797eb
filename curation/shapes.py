"""The shape of DatasetBuild.config, checked by the service before a build is recorded.

The shape is the build configuration's own validator, `curation.pipeline.config.BuildConfig`,
whose ranges and choices come from that module's tables, SOURCES and EXPORTERS; nothing here
repeats a number. The stored config is kept exactly as build_config() made it.
"""

from __future__ import annotations

from accounts.payloads import check_shape
from curation.pipeline.config import BuildConfig

__all__ = ["BuildConfig", "check_build_config"]


def check_build_config(config: dict) -> None:
    """ValidationError naming "config.<section>.<key>" unless `config` fits BuildConfig."""
    check_shape(BuildConfig, config, field="config")
