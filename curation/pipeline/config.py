"""The build configuration: defaults from settings, overrides checked by one pydantic model (BuildConfig).

`BuildConfig` is the one validator of a build's configuration: `build_config()` merges the
overrides into the defaults and lets it check and normalise them (sources in canonical order,
numbers as their type, every source named in the mix); `curation.shapes.check_build_config`
checks a stored configuration with the same model.
"""

from typing import Annotated, Literal

from django.conf import settings
from pydantic import BeforeValidator, Field, ValidationError, create_model, model_validator

from accounts.payloads import Shape
from curation.pipeline.exporters import EXPORTERS
from curation.pipeline.sources import SOURCES


class ConfigProblem(ValueError):
    """The build configuration is unusable; `problems` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def defaults() -> dict:
    return {
        "sources": ["lessons", "commits", "conversations"],
        "format": "alpaca",
        "filters": {
            "min_chars": settings.DATASET_MIN_CHARS,
            "max_chars": settings.DATASET_MAX_CHARS,
            "max_garbage_ratio": settings.DATASET_MAX_GARBAGE_RATIO,
            "drop_failed": settings.DATASET_DROP_FAILED,
        },
        "secrets_mode": settings.SECRETS_MODE,
        "dedup": {
            "jaccard_threshold": settings.DEDUP_JACCARD_THRESHOLD,
            "num_perm": settings.DEDUP_NUM_PERM,
            "shingle_words": settings.DEDUP_SHINGLE_WORDS,
        },
        "split": {"eval_fraction": settings.DATASET_EVAL_FRACTION, "seed": settings.DATASET_SEED},
        # caps and weights per source (0: none); lessons + conversations kept at least this share.
        "mix": {"caps": {source: 0 for source in SOURCES}, "weights": {source: 0 for source in SOURCES},
                "min_reviewed_share": settings.DATASET_MIN_REVIEWED_SHARE},
    }


# (section, key, type, min, max)
_NUMBERS = [
    ("filters", "min_chars", int, 0, 10_000_000),
    ("filters", "max_chars", int, 1, 10_000_000),
    ("filters", "max_garbage_ratio", float, 0.0, 1.0),
    ("dedup", "jaccard_threshold", float, 0.05, 1.0),
    ("dedup", "num_perm", int, 16, 1024),
    ("dedup", "shingle_words", int, 1, 10),
    ("split", "eval_fraction", float, 0.0, 0.9),
    ("split", "seed", int, 0, 2**31 - 1),
]


# (key, type, max) of the mix's per-source caps and weights; 0 is always allowed (none).
_MIX_LIMITS = [("caps", int, 10**9), ("weights", float, 1000.0)]
SECRETS_MODES = ("redact", "drop")
# mix.min_reviewed_share: from 0 up to (not including) this.
REVIEWED_SHARE_BELOW = 1.0


def _number(kind: type, low, high):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
            raise ValueError(f"must be {'an integer' if kind is int else 'a number'}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return kind(value)
    return Annotated[kind, BeforeValidator(check)], Field(ge=low, le=high)


def _mix_value(kind: type, high):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)) \
                or not 0 <= value <= high:
            raise ValueError(f"must be {'a whole number' if kind is int else 'a number'} from 0 to {high} (0: none)")
        return kind(value)
    return Annotated[kind, Field(ge=0, le=high), BeforeValidator(check)]


def _every_source(given):
    """Sources the mix leaves out count 0 (none); unknown ones stay, for the key check to name."""
    if not isinstance(given, dict):
        raise ValueError("must be an object of source -> number")
    return {**{source: given.get(source) or 0 for source in SOURCES},
            **{key: value for key, value in given.items() if key not in SOURCES}}


def _sources(value):
    if isinstance(value, str):
        value = [s.strip() for s in value.split(",") if s.strip()]
    if not isinstance(value, list) or not value:
        raise ValueError("must name at least one of " + ", ".join(SOURCES))
    unknown = [s for s in value if s not in SOURCES]
    if unknown:
        raise ValueError(f"names unknown source(s) {', '.join(map(str, unknown))}; choose from {', '.join(SOURCES)}")
    return [s for s in SOURCES if s in value]  # canonical order: same config, same hash


def _choice(choices, message):
    def check(value):
        if not isinstance(value, str) or value not in choices:
            raise ValueError(message(value))
        return value
    return BeforeValidator(check)


def _flag(value):
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _reviewed_share(value):
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < REVIEWED_SHARE_BELOW:
        raise ValueError(f"must be a number from 0 to below {REVIEWED_SHARE_BELOW:g}")
    return float(value)


def _section(name: str, **extra):
    fields = {key: _number(kind, low, high) for section, key, kind, low, high in _NUMBERS if section == name}
    return create_model(f"Build{name.capitalize()}", __base__=Shape, **fields, **extra)


Source = Literal[tuple(SOURCES)]
BuildFilters = _section("filters", drop_failed=(Annotated[bool, BeforeValidator(_flag)], ...))
BuildDedup = _section("dedup")
BuildSplit = _section("split")
BuildMix = create_model(
    "BuildMix",
    __base__=Shape,
    **{key: (Annotated[dict[Source, _mix_value(kind, high)], BeforeValidator(_every_source)], ...)
       for key, kind, high in _MIX_LIMITS},
    min_reviewed_share=(Annotated[float, BeforeValidator(_reviewed_share)], Field(ge=0, lt=REVIEWED_SHARE_BELOW)),
)


class BuildConfig(Shape):
    """DatasetBuild.config (and the DatasetSnapshot's copy of it)."""

    sources: Annotated[list[Source], Field(min_length=1), BeforeValidator(_sources)]
    format: Annotated[Literal[tuple(EXPORTERS)], _choice(
        EXPORTERS, lambda value: f"names an unknown format '{value}'; choose from {', '.join(EXPORTERS)}")]
    filters: BuildFilters
    secrets_mode: Annotated[Literal[SECRETS_MODES], _choice(
        SECRETS_MODES, lambda value: f"must be {' or '.join(SECRETS_MODES)}")]
    dedup: BuildDedup
    split: BuildSplit
    mix: BuildMix

    @model_validator(mode="after")
    def _chars_in_order(self):
        if self.filters.min_chars > self.filters.max_chars:
            raise ValueError("filters.min_chars must not exceed filters.max_chars")
        return self


def build_config(overrides: dict | None = None) -> dict:
    """Merge `overrides` (same shape as `defaults()`, any subset) into the defaults; BuildConfig checks the result."""
    config = defaults()
    for key, value in (overrides or {}).items():
        if isinstance(config.get(key), dict) and isinstance(value, dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    try:
        return BuildConfig.model_validate(config).model_dump()
    except ValidationError as exc:
        raise ConfigProblem([_problem(error) for error in exc.errors()]) from None


def _problem(error: dict) -> str:
    """One pydantic error in the words of the build form: "'<section>.<key>' <what is wrong>"."""
    loc = [str(part) for part in error["loc"]]
    if "[key]" in loc:  # a mix names a source that does not exist
        return f"'{'.'.join(loc[:-2])}' names unknown source(s) {loc[-2]}"
    path = ".".join(loc)
    if error["type"] == "extra_forbidden":
        return f"unknown setting '{path}'"
    if error["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return f"'{path}' must be an object"
    message = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    return f"'{path}' {message}" if path else message
