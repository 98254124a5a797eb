"""manage.py make_tiny_base [--output DIR] [--force] [--no-chat-template]"""

import pathlib

from django.core.management.base import BaseCommand

from training.base_models import ensure_toy_base, toy_base_path


class Command(BaseCommand):
    help = "Build the offline toy base model (tiny-llama-toy) used by tests and demos."

    def add_arguments(self, parser):
        parser.add_argument("--output", type=pathlib.Path, help=f"Target folder (default {toy_base_path()}).")
        parser.add_argument("--force", action="store_true", help="Rebuild even if the folder already holds a model.")
        parser.add_argument(
            "--no-chat-template", action="store_true", help="Build without a chat template (Alpaca prompt path)."
        )

    def handle(self, *args, output=None, force=False, no_chat_template=False, **options):
        target = output or toy_base_path()
        existed = (target / "config.json").exists()
        path = ensure_toy_base(target, force=force, chat_template=not no_chat_template)
        verb = "Rebuilt" if existed and force else ("Kept existing" if existed else "Built")
        self.stdout.write(self.style.SUCCESS(f"{verb} toy base model at {path}"))
