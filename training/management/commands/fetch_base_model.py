from django.core.management.base import BaseCommand, CommandError

from training import model_store


class Command(BaseCommand):
    help = ("Download a Hugging Face model once (where the network allows) into the models root, with a sha256 "
            "manifest; training containers then use it offline: fetch_base_model ID [--revision REV]")

    def add_arguments(self, parser):
        parser.add_argument("model_id", help="Hugging Face id, e.g. unsloth/Phi-3-mini-4k-instruct")
        parser.add_argument("--revision", help="Branch, tag or commit (default: the main branch)")
        parser.add_argument("--verify", action="store_true", help="Only check a stored model against its manifest")

    def handle(self, *args, **options):
        model_id = options["model_id"]
        if options["verify"]:
            return self._verify(model_id)
        try:
            target = model_store.fetch(model_id, revision=options["revision"])
        except ImportError as exc:
            raise CommandError(f"huggingface_hub is needed to fetch models: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - hub errors (network, auth, unknown id) have many classes
            raise CommandError(f"could not fetch {model_id}: {exc.__class__.__name__}: {exc}") from exc
        self.stdout.write(f"{model_id} stored in {target} (manifest: {target / model_store.MANIFEST})")

    def _verify(self, model_id):
        folder = model_store.stored_path(model_id)
        if not (folder / model_store.MANIFEST).is_file():
            raise CommandError(f"{model_id} is not stored under {model_store.models_root()}")
        bad = model_store.verify(folder)
        if bad:
            raise CommandError(f"{model_id}: {len(bad)} file(s) missing or altered, first: {bad[0]}")
        self.stdout.write(f"{model_id}: every file matches its manifest")
