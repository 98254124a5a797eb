import json

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from models_registry import canary as canaries
from models_registry.management.commands._registry import (
    acting_user,
    add_user_argument,
    add_version_arguments,
    get_line,
    get_version,
)


class Command(BaseCommand):
    help = ("Canary releases: canary start LINE VERSION [--share 0.1], canary stop LINE, "
            "canary status LINE [--json] (the last line of --json is one JSON object)")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        start = actions.add_parser("start", help="let VERSION answer a share of LINE's conversations")
        add_version_arguments(start)
        start.add_argument("--share", type=float, help="fraction of conversations, e.g. 0.1 (default: the setting)")
        start.add_argument("--reason", default="")
        add_user_argument(start)
        stop = actions.add_parser("stop", help="end LINE's running canary; the active version answers everyone")
        stop.add_argument("line")
        stop.add_argument("--reason", default="")
        add_user_argument(stop)
        status = actions.add_parser("status", help="the latest canary of LINE and its numbers")
        status.add_argument("line")
        status.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        line = get_line(options["line"])
        try:
            if options["action"] == "start":
                version = get_version(line, options["version"])
                canary = canaries.start_canary(version, acting_user(options["user"]), share=options["share"],
                                               reason=options["reason"])
                self.stdout.write(f"canary started: {version.label} answers {canary.share:.1%} of {line.name}'s "
                                  f"conversations beside {canary.baseline.label}")
            elif options["action"] == "stop":
                canary = canaries.stop_canary(line, acting_user(options["user"]), options["reason"])
                self.stdout.write(f"canary of {canary.candidate.label} stopped; {canary.baseline.label} answers all")
            else:
                self._status(line, options["json"])
        except (canaries.CanaryError, PermissionDenied) as exc:
            raise CommandError(str(exc) or "permission denied") from exc

    def _status(self, line, as_json: bool):
        canary = canaries.latest_canary(line)
        if canary is None:
            if as_json:
                self.stdout.write(json.dumps({"line": line.name, "state": None, "canary": None}))
                return
            raise CommandError(f"line {line.name} never ran a canary")
        data = canaries.canary_dict(canary)
        if as_json:
            self.stdout.write(json.dumps({k: v for k, v in data.items() if k != "trace"}, sort_keys=True))
            return
        self.stdout.write(f"{line.name}: canary {data['version']} against {data['active']} — {data['state']}"
                          f" (share {data['share']:.1%})")
        for role, numbers in data["versions"].items():
            rate = numbers["success_rate"]
            self.stdout.write(f"  {role} {numbers['version']}: {numbers['completions']} completions, "
                              f"{numbers['successes']}/{numbers['outcomes']} successes"
                              f"{f' ({rate:.1%})' if rate is not None else ''}, {numbers['errors']} errors, "
                              f"{numbers['timeouts']} timeouts, p95 {numbers['p95_ms'] or 0:.0f} ms")
        test = data["test"]
        if test.get("difference") is not None:
            self.stdout.write(f"  difference {test['difference']:+.3f}, interval [{test['low']:+.3f}, "
                              f"{test['high']:+.3f}]")
        if data["reason"]:
            self.stdout.write(f"  {data['reason']}")
