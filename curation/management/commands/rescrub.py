import json

from django.core.management.base import BaseCommand

from curation.services.rescrub import rescrub_records


class Command(BaseCommand):
    help = ("Redact secrets in the lessons, conversations and commit examples already stored, in place, "
            "and report what changed. Running it again changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the report as JSON.")

    def handle(self, *args, dry_run=False, as_json=False, **options):
        report = rescrub_records(dry_run=dry_run).as_dict()
        if as_json:
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
            return
        verb = "would change" if dry_run else "changed"
        for model, scanned in report["scanned"].items():
            self.stdout.write(f"{model}: {scanned} scanned, {report['changed'].get(model, 0)} {verb}")
        found = ", ".join(f"{kind}: {n}" for kind, n in report["found"].items()) or "none"
        self.stdout.write(f"secrets redacted by kind: {found}")
        if report["quarantined"] or report["rejected"]:
            self.stdout.write(f"back to pending review: {report['quarantined']}; rejected by policy: "
                              f"{report['rejected']}")
        if report["key_conflicts"]:
            self.stdout.write(f"{report['key_conflicts']} record(s) now equal another one's text; "
                              "they keep their old content key")

