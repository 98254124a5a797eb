from django.core.management.base import BaseCommand, CommandError

from models_registry import ollama
from models_registry.adapters import AdapterError, local_folder
from models_registry.management.commands._registry import get_line, get_version


class Command(BaseCommand):
    help = "Print a version's Ollama Modelfile (the same as the download): modelfile LINE VERSION"

    def add_arguments(self, parser):
        parser.add_argument("line")
        parser.add_argument("version")

    def handle(self, *args, **options):
        version = get_version(get_line(options["line"]), options["version"])
        try:
            text = ollama.modelfile(version, local_folder(version))  # fetched where this host lacks it
        except (AdapterError, ollama.OllamaRefused) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(text, ending="")
