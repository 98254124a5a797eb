"""`manage.py freeze_holdout --line LINE [--size N] [--seed S]`: set approved records aside for evaluations."""

from django.core.management.base import BaseCommand, CommandError

from arena import services
from models_registry.models import ModelLine


class Command(BaseCommand):
    help = "Take a new holdout version for a line; its records are excluded from every later dataset build."

    def add_arguments(self, parser):
        parser.add_argument("--line", required=True)
        parser.add_argument("--size", type=int, default=None)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        line = ModelLine.objects.filter(name=options["line"]).first()
        if line is None:
            raise CommandError(f"no model line {options['line']!r}")
        try:
            holdout = services.freeze_holdout(line, size=options["size"], seed=options["seed"])
        except services.HoldoutError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"{holdout}: {holdout.items.count()} records held out"))
