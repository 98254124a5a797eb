"""Shared helpers of the registry commands."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from models_registry.models import ModelLine


def add_user_argument(parser):
    parser.add_argument("--user", help="Act as this user (their role is checked); default: the shell's owner.")


def acting_user(username):
    if not username:
        return None
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"no user {username!r}") from None


def add_version_arguments(parser):
    """The LINE VERSION positionals of a command that names a model version."""
    parser.add_argument("line")
    parser.add_argument("version")


def named_version(options):
    """The version that a command's LINE VERSION arguments name; CommandError when either is unknown."""
    return get_version(get_line(options["line"]), options["version"])


def get_line(name) -> ModelLine:
    try:
        return ModelLine.objects.get(name=name)
    except ModelLine.DoesNotExist:
        raise CommandError(f"no model line {name!r}") from None


def get_version(line, label):
    version = line.versions.filter(label=label).first()
    if version is None:
        raise CommandError(f"line {line.name} has no version {label!r}")
    return version
