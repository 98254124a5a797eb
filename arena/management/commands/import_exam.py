"""`manage.py import_exam FILE --line LINE`: import a JSONL exam (idempotent; all or nothing)."""

from django.core.management.base import BaseCommand, CommandError

from arena import services
from models_registry.models import ModelLine


class Command(BaseCommand):
    help = ('Import an exam (one {"id", "category", "prompt", "reference", "check"} object a line) for a '
            "model line. The same content again changes nothing; a bad line imports nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file", help=f"JSONL file (the default exam: {services.DEFAULT_EXAM_PATH})")
        parser.add_argument("--line", required=True, help="model line name")

    def handle(self, *args, **options):
        line = ModelLine.objects.filter(name=options["line"]).first()
        if line is None:
            raise CommandError(f"no model line {options['line']!r}")
        latest = line.exams.order_by("-version").first()
        try:
            # The server's owner runs this: trusted as the system, checked item by item all the same.
            exam = services.import_exam(options["file"], line, system=True)
        except services.ExamImportError as exc:
            raise CommandError("nothing imported:\n  " + "\n  ".join(exc.problems)) from None
        if latest is not None and exam.pk == latest.pk:
            self.stdout.write(f"unchanged: {line.name} exam v{exam.version} already has these "
                              f"{exam.items.count()} items")
        else:
            self.stdout.write(self.style.SUCCESS(f"imported {exam.items.count()} items as {line.name} exam "
                                                 f"v{exam.version}"))
