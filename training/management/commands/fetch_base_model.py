import pathlib

from django.core.management.base import BaseCommand, CommandError

from training import model_store
from training.trainer.gguf_base import GGUFImportError


class Command(BaseCommand):
    help = ("Store a base model under the models root with a sha256 manifest, for offline training and serving: "
            "a packaged model by its short name (smollm2-135m-instruct), a local .gguf file, or a Hugging Face id "
            "downloaded once where the network allows")

    def add_arguments(self, parser):
        parser.add_argument("model_id", help="smollm2-135m-instruct, a path to a .gguf file, or a Hugging Face id "
                                             "such as unsloth/Phi-3-mini-4k-instruct")
        parser.add_argument("--name", help="Short name to store a .gguf file under (default: the file's stem)")
        parser.add_argument("--revision", help="Branch, tag or commit of a Hugging Face id (default: main)")
        parser.add_argument("--verify", action="store_true", help="Only check a stored model against its manifest")

    def handle(self, *args, **options):
        model_id = options["model_id"]
        if options["verify"]:
            return self._verify(model_id)
        try:
            target, name = self._store(model_id, options)
        except (model_store.BaseModelMissing, GGUFImportError) as exc:
            raise CommandError(str(exc)) from exc
        data = model_store.manifest(str(target)) or {}
        self.stdout.write(f"{data.get('display_name', name)} stored as {name} (digest {data.get('digest', '')[:12]}) "
                          f"in {target}; train on it with --base {name}")

    def _store(self, model_id: str, options) -> tuple[pathlib.Path, str]:
        if model_id in model_store.PACKAGED_GGUF:
            return model_store.import_packaged(model_id), model_id
        path = pathlib.Path(model_id).expanduser()
        if model_id.endswith(".gguf") or model_store.is_local_path(model_id) or path.is_file():
            # A file is stored only as a GGUF model: anything else is refused by its first bytes.
            name = options["name"] or path.stem.lower()
            if not model_store.NAME.match(name):
                raise CommandError(f"--name {name!r}: use letters, digits, '.', '_' and '-' only")
            return model_store.import_gguf(path, name=name), name
        if "/" not in model_id:
            raise CommandError(f"unknown base model {model_id!r}: not a packaged model "
                               f"({', '.join(sorted(model_store.PACKAGED_GGUF))}), not a .gguf file and not a "
                               "Hugging Face id (org/name)")
        try:
            return model_store.fetch(model_id, revision=options["revision"]), model_id
        except ImportError as exc:
            raise CommandError(f"huggingface_hub is needed to fetch models: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - hub errors (network, auth, unknown id) have many classes
            raise CommandError(f"could not fetch {model_id}: {exc.__class__.__name__}: {exc}") from exc

    def _verify(self, model_id):
        folder = model_store.stored_path(model_id)
        if not (folder / model_store.MANIFEST).is_file():
            raise CommandError(f"{model_id} is not stored under {model_store.models_root()}")
        bad = model_store.verify(folder)
        if bad:
            raise CommandError(f"{model_id}: {len(bad)} file(s) missing or altered, first: {bad[0]}")
        self.stdout.write(f"{model_id}: every file matches its manifest")
