import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import ensure_admin


class Command(BaseCommand):
    help = "Create the first admin account if missing (password from ACADEMY_ADMIN_PASSWORD or generated)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("ACADEMY_ADMIN_USER", "admin"))

    def handle(self, *args, **options):
        username = options["username"]
        try:
            created, generated = ensure_admin(username, password=os.environ.get("ACADEMY_ADMIN_PASSWORD"))
        except ValidationError as exc:
            raise CommandError("ACADEMY_ADMIN_PASSWORD is refused: " + " ".join(exc.messages)) from None
        if created and not generated:
            self.stdout.write(f"Created admin account '{username}' with the password from ACADEMY_ADMIN_PASSWORD.")
        elif generated:
            self.stdout.write(self.style.WARNING(
                f"Created admin account '{username}' with password: {generated}\n"
                "This password is shown once; change it after signing in."
            ))
        else:
            self.stdout.write(f"Admin account '{username}' is ready.")
