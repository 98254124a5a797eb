"""manage.py build_dataset --name NAME --format alpaca|sharegpt|messages [--sources ...] [--seed N]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from curation.pipeline.exporters import EXPORTERS
from curation.services.datasets import run_build, start_build
from curation.snapshots import snapshot_file
from jobs.models import JobStatus


class Command(BaseCommand):
    help = "Build a dataset snapshot now (synchronously); print its sha256 and file path."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--format", required=True, choices=sorted(EXPORTERS))
        parser.add_argument("--sources", default="lessons,commits,conversations",
                            help="Comma-separated: lessons, commits, conversations.")
        parser.add_argument("--seed", type=int, default=None, help="Seed of the train/eval split.")
        parser.add_argument("--secrets-mode", choices=("redact", "drop"), default=None)

    def handle(self, *args, name, format, sources, seed, secrets_mode, **options):
        overrides: dict = {"sources": sources}
        if seed is not None:
            overrides["split"] = {"seed": seed}
        if secrets_mode:
            overrides["secrets_mode"] = secrets_mode
        try:
            build = start_build(None, name=name, format=format, overrides=overrides, queue=False)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        build = run_build(build.pk)
        if build.status != JobStatus.SUCCEEDED:
            raise CommandError(f"build {build.pk} failed: {build.error}")
        snapshot = build.snapshot
        self.stdout.write(f"{snapshot.sha256} {snapshot_file(snapshot)}")
        self.stderr.write(f"{snapshot.row_count} rows ({snapshot.train_count} train, {snapshot.eval_count} eval)")
