"""`manage.py train --dataset SHA256 [--base MODEL] [--backend auto|docker|local] [--wait]`."""

import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from curation.models import DatasetSnapshot
from jobs.models import JobStatus
from training import services
from training.models import MetricPoint, TrainingRun


class Command(BaseCommand):
    help = "Start a training run on a dataset snapshot; prints the run id. With --wait, follow it to the end."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="sha256 of the snapshot (a unique prefix will do)")
        parser.add_argument("--base", default=None, help="base model: a stored short name (smollm2-135m-instruct), "
                                                         "a Hugging Face id or a local folder")
        parser.add_argument("--backend", default="auto", choices=("auto", "docker", "local"))
        parser.add_argument("--gpu", action="store_true", help="the run needs a GPU (it goes to a GPU queue)")
        parser.add_argument("--gpu-memory-gb", type=int, default=0, metavar="GB",
                            help="the run needs a GPU with at least this much memory")
        parser.add_argument("--memory-gb", type=int, default=0, metavar="GB", help="the run needs this much RAM")
        parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                            help="a hyperparameter, e.g. --set max_steps=20 (JSON values)")
        parser.add_argument("--wait", action="store_true", help="follow the run; exit non-zero unless it succeeds")
        parser.add_argument("--in-process", action="store_true",
                            help="with --wait, execute the run in this process instead of waiting for a worker")
        parser.add_argument("--notice-after", type=float, metavar="SECONDS",
                            default=getattr(settings, "WORKER_WAIT_WARNING_SECONDS", 60),
                            help="with --wait, say so when no worker has taken the run after this long")

    def handle(self, *args, **options):
        dataset = self._dataset(options["dataset"])
        try:
            run = services.start_run(None, dataset=dataset, base_model=options["base"], backend=options["backend"],
                                     hyperparameters=self._hyperparameters(options["set"]),
                                     requirements={"gpu": options["gpu"], "gpu_memory_gb": options["gpu_memory_gb"],
                                                   "memory_gb": options["memory_gb"]})
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(str(run.pk))
        if not options["wait"]:
            return
        in_process = options["in_process"] or (settings.ACADEMY_MODE == "embedded")
        try:
            status = self._execute(run) if in_process else self._follow(run, options["notice_after"])
        except KeyboardInterrupt:
            run.refresh_from_db()
            self.stderr.write(f"\n[run {run.pk}] stopped following; the run is {run.status} and goes on without "
                              f"this command (cancel it with the Cancel button or the API)")
            raise SystemExit(130) from None
        if status != JobStatus.SUCCEEDED:
            run.refresh_from_db()
            raise CommandError(f"run {run.pk} {status}: {run.human_error or run.error[-500:]}")
        self.stdout.write(self.style.SUCCESS(f"run {run.pk} succeeded: {run.run_dir}/adapter"))

    def _dataset(self, prefix: str) -> DatasetSnapshot:
        matches = []
        if len(prefix) >= 6:
            matches = list(DatasetSnapshot.objects.filter(sha256__startswith=prefix.lower())[:2])
        if len(matches) != 1:
            raise CommandError(f"no unique dataset snapshot with sha256 {prefix!r} (give at least 6 characters)")
        return matches[0]

    def _hyperparameters(self, pairs) -> dict:
        import json

        values = {}
        for pair in pairs:
            name, sep, raw = pair.partition("=")
            if not sep:
                raise CommandError(f"--set {pair!r}: expected NAME=VALUE")
            try:
                values[name.strip()] = json.loads(raw)
            except ValueError:
                values[name.strip()] = raw
        return values

    def _execute(self, run) -> str:
        """No separate worker in embedded mode: run it here, printing progress as events arrive."""
        from training.execution import execute

        self.stdout.write(f"[run {run.pk}] executing in this process")
        status = execute(run.pk, "cli@localhost", on_event=lambda event: self._print_event(run.pk, event))
        return status or TrainingRun.objects.get(pk=run.pk).status

    def _print_event(self, run_id: int, event: dict) -> None:
        kind = event.get("event")
        if kind == "start":
            self.stdout.write(f"[run {run_id}] training on {event.get('device')}: {event.get('total_steps')} steps")
        elif kind == "metric":
            self.stdout.write(f"[run {run_id}] step {event.get('step')} loss {event.get('loss')}")
        elif kind == "eval":
            self.stdout.write(f"[run {run_id}] eval at step {event.get('step')}: {event.get('eval_loss')}")
        elif kind == "error":
            self.stderr.write(f"[run {run_id}] error ({event.get('kind')}): {event.get('message')}")

    def _follow(self, run, notice_after: float) -> str:
        """Poll the database while a worker elsewhere executes the run; say so when none takes it."""
        last_step, last_status = -1, None
        notice_at = time.monotonic() + notice_after
        while True:
            run.refresh_from_db()
            if run.status != last_status:
                last_status = run.status
                self.stdout.write(f"[run {run.pk}] {run.status}")
            if run.status == JobStatus.QUEUED and notice_at is not None and time.monotonic() >= notice_at:
                notice_at = None
                queue = getattr(run, "queue_name", "") or TrainingRun.queue
                self.stderr.write(f"[run {run.pk}] no worker has taken it after {notice_after:g} s: is a worker "
                                  f"running for queue {queue}? (celery -A academy_site worker -Q training)")
            point = MetricPoint.objects.filter(run=run, kind="train", step__gt=last_step).order_by("-step").first()
            if point:
                last_step = point.step
                self.stdout.write(f"[run {run.pk}] step {point.step}/{run.total_steps or '?'} loss {point.loss}")
            if run.is_terminal:
                return run.status
            time.sleep(1.0)
