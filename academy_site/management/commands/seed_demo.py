"""manage.py seed_demo [--if-empty]: a demo workspace that works offline.

Builds the toy base model, imports the sample lessons and task conversations from
academy_site/demo/, registers and mines this repository when GIT_ALLOWED_ROOTS allows it,
and imports the Arena's default exam for the default model line. Every step is idempotent.

`--if-empty` (what `make run` uses) builds the toy base model, then seeds only a data
folder that has never been seeded and holds no records, and only while SEED_DEMO is on.
"""

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from academy_site.demo import LESSONS_FILE, TASKS_FILE
from curation import gitrepo
from curation.models import CommitExample, Conversation, DatasetSnapshot, GitRepository, Lesson
from curation.services.git_mining import check_repository_path, find_repository
from models_registry.models import ModelLine
from training.base_models import default_base_model, toy_base_path

MARKER = "demo-seeded"


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
        call_command("import_lessons", str(LESSONS_FILE), origin="demo", stdout=self.stdout)
        call_command("import_tasks", str(TASKS_FILE), origin="demo", stdout=self.stdout)
        self._mine_this_repository()
        self._default_exam()
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

    def _mine_this_repository(self) -> None:
        try:
            top = gitrepo.repository_root(settings.BASE_DIR)
        except gitrepo.GitError:
            self.stdout.write(f"Git: {settings.BASE_DIR} is not a git repository; nothing to mine.")
            return
        try:
            check_repository_path(str(top))
        except ValidationError as exc:
            self.stdout.write(f"Git: not mined: {'; '.join(exc.messages)}.")
            return
        verb = "mining" if find_repository(str(top)) else "registering and mining"
        self.stdout.write(f"Git: {verb} {top}")
        try:
            call_command("mine_git", str(top), name="academy", stdout=self.stdout)
        except CommandError as exc:
            self.stdout.write(f"Git: mining failed: {exc}")

    def _default_exam(self) -> None:
        if not apps.is_installed("arena"):
            self.stdout.write("Exam: skipped (the Arena is not installed).")
            return
        try:
            from arena import services as arena
        except ImportError as exc:
            self.stdout.write(f"Exam: skipped (the Arena's services are not available: {exc}).")
            return
        line, _ = ModelLine.objects.get_or_create(name=settings.MODEL_LINE_DEFAULT,
                                                  defaults={"base_model": self._base})
        exam = arena.ensure_exam(line)
        self.stdout.write(f"Exam: line {line.name} has exam version {exam.version} ({exam.items.count()} questions).")


def _has_records() -> bool:
    return any(model.objects.exists() for model in (Lesson, Conversation, CommitExample, GitRepository,
                                                    DatasetSnapshot))
