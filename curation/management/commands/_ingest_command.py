"""What import_lessons and import_tasks share: read a file, ingest it, print counts."""

import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from curation.services.ingest import PayloadError

_ORIGIN = re.compile(r"^[a-z0-9_-]{1,20}$")


class IngestCommand(BaseCommand):
    ingest = None  # set by subclasses: a curation.services.ingest function
    noun = "records"

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON or JSONL file (UTF-8).")
        parser.add_argument("--origin", default="cli",
                            help="Recorded origin of the records, e.g. memory for an agent memory export.")

    def handle(self, *args, file, origin, **options):
        if not _ORIGIN.match(origin):
            raise CommandError("--origin must be 1-20 lowercase letters, digits, '-' or '_'")
        path = Path(file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            result = type(self).ingest(raw, origin=origin)
        except PayloadError as exc:
            raise CommandError("\n  ".join([f"{path}: {exc.message}", *exc.details])) from None
        self.stdout.write(f"{self.noun}: created {result.created}, duplicates {result.duplicates}, "
                          f"skipped {len(result.skipped)}")
        for skipped in result.skipped:
            self.stdout.write(f"  skipped record {skipped['index']}: {skipped['reason']}")
