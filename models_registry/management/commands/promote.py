from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from models_registry.management.commands._registry import (
    acting_user,
    add_user_argument,
    add_version_arguments,
    named_version,
)
from models_registry.services import RegistryError, promote_version


class Command(BaseCommand):
    help = "Promote a version of a model line to active: promote LINE VERSION --reason TEXT"

    def add_arguments(self, parser):
        add_version_arguments(parser)
        parser.add_argument("--reason", required=True)
        add_user_argument(parser)

    def handle(self, *args, **options):
        version = named_version(options)
        try:
            activation = promote_version(version, acting_user(options["user"]), options["reason"])
        except (RegistryError, PermissionDenied) as exc:
            raise CommandError(str(exc) or "permission denied") from exc
        previous = activation.from_version.label if activation.from_version else "none"
        self.stdout.write(f"{version} is now active (was {previous})")
