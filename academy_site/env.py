"""Typed readers for settings taken from the environment.

Every reader names the variable in its error, so a bad value stops the start with one
clear line instead of a traceback deep inside Django.

A `.env` file in the working folder is read as a fallback (real environment variables
win); it is only read, never copied into os.environ, so importing settings changes nothing.
"""

import functools
import os
import re
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ImproperlyConfigured):
    """A configuration variable is missing or has a value we cannot use."""


@functools.cache
def _dotenv(folder: Path) -> dict[str, str]:
    path = folder / ".env"
    return {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}


def environment() -> Mapping[str, str]:
    """The process environment, then the working folder's .env file."""
    return ChainMap(os.environ, _dotenv(Path.cwd()))


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    environ = environment() if environ is None else environ
    value = environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str | None = None, *, environ=None) -> str | None:
    value = _raw(name, environ)
    return default if value in (None, "") else value


def env_slug(name: str, default: str, *, environ=None) -> str:
    """A name that ends up in URLs (a model line): letters, digits, hyphens and underscores."""
    value = env_str(name, default, environ=environ)
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,100}", value):
        raise ConfigError(f"{name} must be a slug (letters, digits, hyphens, underscores), got {value!r}")
    return value


def env_bool(name: str, default: bool = False, *, environ=None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be a boolean (true/false, 1/0, yes/no, on/off), got {value!r}")


def env_int(
    name: str, default: int, *, min_value: int | None = None, max_value: int | None = None, environ=None
) -> int:
    value = _raw(name, environ)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None
    _check_range(name, number, min_value, max_value)
    return number


def env_float(
    name: str, default: float, *, min_value: float | None = None, max_value: float | None = None, environ=None
) -> float:
    value = _raw(name, environ)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    _check_range(name, number, min_value, max_value)
    return number


def env_choice(name: str, default: str, choices: tuple[str, ...], *, environ=None) -> str:
    value = env_str(name, default, environ=environ)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_list(name: str, default: list[str] | None = None, *, environ=None) -> list[str]:
    value = _raw(name, environ)
    if value in (None, ""):
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_path(name: str, default: Path, *, environ=None) -> Path:
    value = env_str(name, None, environ=environ)
    return Path(value).expanduser().resolve() if value else default


def env_secret(name: str, default: str | None = None, *, environ=None) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    direct = env_str(name, None, environ=environ)
    file_name = env_str(f"{name}_FILE", None, environ=environ)
    if direct and file_name:
        raise ConfigError(f"set either {name} or {name}_FILE, not both")
    if file_name:
        try:
            content = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE points to {file_name!r}, which cannot be read: {exc.strerror}") from None
        if not content:
            raise ConfigError(f"{name}_FILE points to {file_name!r}, which is empty")
        return content
    return direct or default


def _check_range(name, number, min_value, max_value):
    if min_value is not None and number < min_value:
        raise ConfigError(f"{name} must be at least {min_value}, got {number}")
    if max_value is not None and number > max_value:
        raise ConfigError(f"{name} must be at most {max_value}, got {number}")


def env_float_map(name: str, default: dict[str, float] | None = None, *, min_value: float | None = None,
                  max_value: float | None = None, environ=None) -> dict[str, float]:
    """Comma-separated key=number pairs, e.g. "python=0.1,sql=0.2"."""
    value = _raw(name, environ)
    if value in (None, ""):
        return dict(default or {})
    result = {}
    for pair in value.split(","):
        key, sep, number = pair.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            result[key.strip()] = float(number)
        except ValueError:
            raise ConfigError(f"{name} must be comma-separated key=number pairs, got {pair.strip()!r}") from None
        _check_range(name, result[key.strip()], min_value, max_value)
    return result


def env_choice_map(name: str, default: dict[str, str], choices: tuple[str, ...], *, environ=None) -> dict[str, str]:
    """Comma-separated key=choice pairs ("default=redact,private_key=quarantine") over `default`."""
    value = _raw(name, environ)
    result = dict(default)
    if value in (None, ""):
        return result
    for pair in value.split(","):
        key, sep, choice = (part.strip() for part in pair.partition("="))
        if not sep or not key or not key.replace("_", "").isalnum():
            raise ConfigError(f"{name} must be comma-separated kind=action pairs, got {pair.strip()!r}")
        if choice not in choices:
            raise ConfigError(f"{name}: {key} must be one of {', '.join(choices)}, got {choice!r}")
        result[key.lower()] = choice
    return result


def env_hyperparameter(name: str, entry: tuple, *, environ=None):
    """A deployment default for one trainer hyperparameter: the trainer's own default and range
    (an entry of training.trainer.spec.HYPERPARAMETERS: (type, default, minimum, maximum)),
    overridden by the variable `name` when it is set."""
    kind, default, low, high = entry
    if kind is int:
        return env_int(name, default, min_value=low, max_value=high, environ=environ)
    return env_float(name, default, min_value=low, max_value=high, environ=environ)
