"""`manage.py evaluate LINE VERSION [--against LABEL|base] [--wait] [--json] [--apply]`."""

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from arena import services
from arena.models import Evaluation
from jobs.models import JobStatus
from models_registry.management.commands._registry import add_version_arguments


class Command(BaseCommand):
    help = ("Evaluate a version against the active one (or --against a label, or base). With --json the last "
            "line printed is the verdict object; --apply carries the verdict out (promote or reject).")

    def add_arguments(self, parser):
        add_version_arguments(parser)
        parser.add_argument("--against", default=None, help="a version label, or 'base' for the base model")
        parser.add_argument("--wait", action="store_true", help="wait for the verdict")
        parser.add_argument("--json", action="store_true", help="print the verdict as JSON (last line)")
        parser.add_argument("--apply", action="store_true", help="carry the verdict out (implies --wait)")
        parser.add_argument("--in-process", action="store_true",
                            help="run the evaluation in this process instead of waiting for a worker")

    def handle(self, *args, **options):
        try:
            evaluation = services.start_evaluation(options["line"], options["version"], options["against"])
        except services.ArenaError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"evaluation {evaluation.pk}: {evaluation.candidate.label} vs {evaluation.against_label}")
        if not (options["wait"] or options["apply"] or options["json"]):
            self.stdout.write(str(evaluation.pk))
            return
        in_process = options["in_process"] or settings.ACADEMY_MODE == "embedded"
        if in_process:
            services.run_evaluation(evaluation.pk, worker="cli@localhost")
        evaluation = self._follow(evaluation.pk)
        if evaluation.status != JobStatus.SUCCEEDED:
            raise CommandError(f"evaluation {evaluation.pk} {evaluation.status}: {evaluation.human_error}")
        verdict = evaluation.verdict
        for reason in verdict.get("reasons", []):
            self.stderr.write(f"  {reason}")
        if options["apply"]:
            try:
                done = services.apply_verdict(evaluation, system=True)
            except services.ArenaError as exc:
                raise CommandError(str(exc)) from None
            self.stderr.write(f"applied: {done}")
        if options["json"]:
            self.stdout.write(json.dumps(verdict, sort_keys=True))
        else:
            self.stdout.write(verdict["decision"])

    def _follow(self, pk: int) -> Evaluation:
        warned, started = False, time.monotonic()
        wait_warning = getattr(settings, "WORKER_WAIT_WARNING_SECONDS", 60)
        while True:
            evaluation = Evaluation.objects.get(pk=pk)
            if evaluation.is_terminal:
                return evaluation
            if not warned and evaluation.status == JobStatus.QUEUED and time.monotonic() - started > wait_warning:
                self.stderr.write(f"evaluation {pk} is still queued after {wait_warning} s: is a "
                                  "`celery worker -Q training` running?")
                warned = True
            time.sleep(1.0)
