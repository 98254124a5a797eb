from django.core.management.base import BaseCommand

from models_registry.management.commands._registry import get_line


class Command(BaseCommand):
    help = "List the versions of a model line with their status: versions LINE"

    def add_arguments(self, parser):
        parser.add_argument("line")

    def handle(self, *args, **options):
        line = get_line(options["line"])
        self.stdout.write(f"{'VERSION':<8} {'STATUS':<10} {'PARENT':<7} {'RUN':<6} {'EVAL_LOSS':<10} CREATED")
        for v in line.versions.select_related("parent").order_by("number"):
            eval_loss = (v.metrics or {}).get("eval", {}).get("eval_loss")
            self.stdout.write(f"{v.label:<8} {v.status:<10} {v.parent.label if v.parent else '-':<7} "
                              f"{v.training_run_id or '-':<6} {eval_loss if eval_loss is not None else '-':<10} "
                              f"{v.created_at:%Y-%m-%d %H:%M}")
