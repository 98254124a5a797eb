from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from models_registry.management.commands._registry import acting_user, add_user_argument, get_line, get_version
from models_registry.services import RegistryError, rollback_line


class Command(BaseCommand):
    help = "Roll a model line back: rollback LINE --reason TEXT [--to VERSION]"

    def add_arguments(self, parser):
        parser.add_argument("line")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--to", help="Version label; default: the previously active version.")
        add_user_argument(parser)

    def handle(self, *args, **options):
        line = get_line(options["line"])
        target = get_version(line, options["to"]) if options["to"] else None
        try:
            activation = rollback_line(line, acting_user(options["user"]), options["reason"], to_version=target)
        except (RegistryError, PermissionDenied) as exc:
            raise CommandError(str(exc) or "permission denied") from exc
        self.stdout.write(f"{line.name} rolled back to {activation.to_version.label}")
