from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from models_registry.management.commands._registry import add_version_arguments, named_version
from models_registry.runtime_export import (
    ADAPTER_FILE,
    BASE_FILE,
    MODELFILE,
    ORIGINAL,
    PRECISIONS,
    RuntimeExportError,
    export_runtime,
)


class Command(BaseCommand):
    help = ("Write a version as llama.cpp and Ollama load it: the base GGUF, the adapter as a GGUF LoRA, "
            "a Modelfile and a README: export_runtime LINE VERSION --to DIR [--base-precision f32|f16] [--force]")

    def add_arguments(self, parser):
        add_version_arguments(parser)
        parser.add_argument("--to", required=True, help="Target folder (created; must be empty unless --force)")
        parser.add_argument("--base-precision", choices=PRECISIONS, default=ORIGINAL,
                            help="original: the base GGUF as stored (default); f32/f16: every tensor dequantized, "
                                 "the weights serving and the Arena use")
        parser.add_argument("--force", action="store_true", help="Replace the contents of a non-empty --to folder")

    def handle(self, *args, **options):
        version = named_version(options)
        target = Path(options["to"]).expanduser().absolute()
        try:
            manifest = export_runtime(version, target, base_precision=options["base_precision"],
                                      force=options["force"])
        except RuntimeExportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{version} exported to {target} (base: {manifest['base_precision']})")
        if MODELFILE in manifest["files"]:
            self.stdout.write(f"Ollama:    cd {target} && ollama create {version.ollama_name} -f {MODELFILE}")
        self.stdout.write(f"llama.cpp: llama-cli -m {target / BASE_FILE} --lora {target / ADAPTER_FILE}")
