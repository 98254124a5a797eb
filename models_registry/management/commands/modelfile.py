from django.core.management.base import BaseCommand, CommandError

from models_registry import ollama
from models_registry.adapters import AdapterError, local_folder
from models_registry.management.commands._registry import add_version_arguments, named_version


class Command(BaseCommand):
    help = "Print a version's Ollama Modelfile (the same as the download): modelfile LINE VERSION"

    def add_arguments(self, parser):
        add_version_arguments(parser)

    def handle(self, *args, **options):
        version = named_version(options)
        try:
            text = ollama.modelfile(version, local_folder(version))  # fetched where this host lacks it
        except (AdapterError, ollama.OllamaRefused) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(text, ending="")
