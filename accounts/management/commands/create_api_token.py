from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import Role, grantable_roles
from accounts.services import create_api_token


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it once (for automation)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="What the token is for.")
        parser.add_argument("--role", choices=Role.values,
                            help="Role the token acts with (default: the highest role the user holds).")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        roles = grantable_roles(user)
        if not roles:
            raise CommandError(f"{user.username} holds no role; add them to a group first")
        role = options["role"] or roles[-1]
        try:
            _, raw = create_api_token(user, name=options["name"], role=role)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(raw)
