"""`manage.py professor readiness [--json] | ask "<words>" [--json] | cycle [--wait] [--in-process]`."""

import json
import time

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from jobs.models import JobStatus
from professor import services
from professor.cycle import no_worker_message
from professor.models import Cycle, JournalEntry, Outcome, Trigger

POLL_SECONDS = 1.0


class Command(BaseCommand):
    help = "The Professor: readiness to train, the agent's command words, and the unattended cycle."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        ready = sub.add_parser("readiness", help="say whether the line should train now, and why")
        ready.add_argument("--json", action="store_true", help="end with one JSON object {ready, reasons, numbers}")
        ask = sub.add_parser("ask", help='a command in words, e.g. "check training progress"')
        ask.add_argument("words", nargs="+")
        ask.add_argument("--json", action="store_true", help="end with the answer as one JSON object")
        cycle = sub.add_parser("cycle", help="run one cycle: memory -> readiness -> dataset -> training -> Arena")
        cycle.add_argument("--wait", action="store_true", help="follow the cycle; exit non-zero unless it succeeds")
        cycle.add_argument("--in-process", action="store_true",
                           help="with --wait, run the cycle in this process (the default in embedded mode)")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    # ------------------------------------------------------------------ readiness
    def _readiness(self, json: bool = False, **options):
        decision = services.readiness()
        self.stdout.write(("Ready to train" if decision.ready else "Not ready to train") + f" (line "
                          f"{decision.numbers['line']}):")
        for reason, ok in decision.rows:
            self.stdout.write(f"  {'ok ' if ok else 'NO '} {reason}")
        if json:
            self.stdout.write(_json(decision.as_dict()))

    # ------------------------------------------------------------------ ask
    def _ask(self, words, json: bool = False, **options):
        in_process = settings.ACADEMY_MODE == "embedded"
        try:
            answer = services.ask(None, " ".join(words), in_process=in_process)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(answer.text)
        if json:
            self.stdout.write(_json(answer.as_dict()))

    # ------------------------------------------------------------------ cycle
    def _cycle(self, wait: bool = False, in_process: bool = False, **options):
        in_process = wait and (in_process or settings.ACADEMY_MODE == "embedded")
        try:
            cycle = services.start_cycle(None, trigger=Trigger.CLI, queue=not in_process)
        except services.CycleBusy as exc:
            raise CommandError(f"not started: {exc}") from None
        self.stdout.write(f"cycle {cycle.pk}" + ("" if wait else " queued"))
        if not wait:
            return
        if in_process:
            cycle = services.run_cycle(cycle.pk, worker="cli@localhost", in_process=True, on_entry=self._print_entry)
        else:
            cycle = self._follow(cycle)
        self.stdout.write(f"cycle {cycle.pk} {cycle.status}: {cycle.get_outcome_display().lower()}"
                          + (f" — {cycle.summary}" if cycle.summary else ""))
        if cycle.status != JobStatus.SUCCEEDED or cycle.outcome == Outcome.FAILED:
            raise CommandError(f"cycle {cycle.pk} {cycle.status}: {cycle.human_error or cycle.summary}")

    def _print_entry(self, entry: JournalEntry) -> None:
        self.stdout.write(f"[{entry.at:%H:%M:%S}] {entry.step}: {entry.outcome} — {entry.message}")

    def _follow(self, cycle: Cycle) -> Cycle:
        """Print the journal while a worker runs the cycle; say so when no worker takes it."""
        seen, began, warned = 0, time.monotonic(), False
        while True:
            cycle.refresh_from_db()
            for entry in cycle.journal.all()[seen:]:
                self._print_entry(entry)
                seen += 1
            if cycle.is_terminal:
                return cycle
            waited = time.monotonic() - began
            if cycle.status == JobStatus.QUEUED and not warned and waited >= settings.WORKER_WAIT_WARNING_SECONDS:
                warned = True
                self.stderr.write(no_worker_message(f"cycle {cycle.pk}", waited, Cycle.queue))
            time.sleep(POLL_SECONDS)


def _json(value) -> str:
    return json.dumps(value, default=str, sort_keys=True)
