from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from models_registry import ollama
from models_registry.adapters import AdapterError
from models_registry.management.commands._registry import add_version_arguments, named_version
from models_registry.merging import MergeError, export_merged


class Command(BaseCommand):
    help = ("Merge a version's LoRA adapter into its base model and save a full model in safetensors "
            "(with tokenizer and a Modelfile), for Ollama or llama.cpp: export_merged LINE VERSION [--output DIR]")

    def add_arguments(self, parser):
        add_version_arguments(parser)
        parser.add_argument("--output", help="Target folder (default: <DATA_DIR>/exports/<line>-<version>)")

    def handle(self, *args, **options):
        version = named_version(options)
        try:
            target = export_merged(version, Path(options["output"]) if options["output"] else None)
        except (AdapterError, MergeError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"merged model written to {target}")
        if (target / "Modelfile").exists():
            self.stdout.write(f"import it with: ollama create {version.ollama_name} -f {target / 'Modelfile'}")
        else:
            self.stdout.write(f"no Modelfile: {ollama.template_refusal(version)}")
