"""The build configuration: defaults from settings, overrides validated with clear messages."""

from django.conf import settings

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


def build_config(overrides: dict | None = None) -> dict:
    """Merge `overrides` (same shape as `defaults()`, any subset) into the defaults and check them."""
    config = defaults()
    overrides = overrides or {}
    problems: list[str] = []
    for key, value in overrides.items():
        if key not in config:
            problems.append(f"unknown setting '{key}'")
        elif isinstance(config[key], dict):
            if not isinstance(value, dict):
                problems.append(f"'{key}' must be an object")
                continue
            for sub, sub_value in value.items():
                if sub not in config[key]:
                    problems.append(f"unknown setting '{key}.{sub}'")
                else:
                    config[key][sub] = sub_value
        else:
            config[key] = value
    _check(config, problems)
    if problems:
        raise ConfigProblem(problems)
    return config


def _check(config: dict, problems: list[str]) -> None:
    sources = config["sources"]
    if isinstance(sources, str):
        sources = config["sources"] = [s.strip() for s in sources.split(",") if s.strip()]
    if not isinstance(sources, list) or not sources:
        problems.append("'sources' must name at least one of " + ", ".join(SOURCES))
    else:
        unknown = [s for s in sources if s not in SOURCES]
        if unknown:
            problems.append(f"unknown source(s) {', '.join(map(str, unknown))}; choose from {', '.join(SOURCES)}")
        config["sources"] = [s for s in SOURCES if s in sources]  # canonical order: same config, same hash
    if not isinstance(config["format"], str) or config["format"] not in EXPORTERS:
        problems.append(f"unknown format '{config['format']}'; choose from {', '.join(EXPORTERS)}")
    if config["secrets_mode"] not in SECRETS_MODES:
        problems.append(f"'secrets_mode' must be {' or '.join(SECRETS_MODES)}")
    if not isinstance(config["filters"]["drop_failed"], bool):
        problems.append("'filters.drop_failed' must be true or false")
    for section, key, kind, low, high in _NUMBERS:
        value = config[section][key]
        if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
            problems.append(f"'{section}.{key}' must be {'an integer' if kind is int else 'a number'}")
        elif not low <= value <= high:
            problems.append(f"'{section}.{key}' must be between {low} and {high}, got {value}")
        else:
            config[section][key] = kind(value)
    _check_mix(config, problems)
    if not problems and config["filters"]["min_chars"] > config["filters"]["max_chars"]:
        problems.append("'filters.min_chars' must not exceed 'filters.max_chars'")


def _check_mix(config: dict, problems: list[str]) -> None:
    mix = config["mix"]
    for key, kind, high in _MIX_LIMITS:
        given = mix.get(key)
        if not isinstance(given, dict):
            problems.append(f"'mix.{key}' must be an object of source -> number")
            continue
        unknown = sorted(set(given) - set(SOURCES))
        if unknown:
            problems.append(f"'mix.{key}' names unknown source(s) {', '.join(map(str, unknown))}")
        values = {}
        for source in SOURCES:
            value = given.get(source) or 0
            if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)) \
                    or not 0 <= value <= high:
                problems.append(f"'mix.{key}.{source}' must be {'a whole number' if kind is int else 'a number'} "
                                f"from 0 to {high} (0: none)")
            else:
                values[source] = kind(value)
        mix[key] = values
    share = mix.get("min_reviewed_share")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < REVIEWED_SHARE_BELOW:
        problems.append(f"'mix.min_reviewed_share' must be a number from 0 to below {REVIEWED_SHARE_BELOW:g}")
    else:
        mix["min_reviewed_share"] = float(share)
