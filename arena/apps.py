from django.apps import AppConfig


class ArenaConfig(AppConfig):
    name = "arena"
    verbose_name = "Arena"

    def ready(self):
        # Frozen holdout records never enter a dataset build (curation calls the hook).
        from arena.holdouts import held_out_content_keys
        from arena.panels import compare_panel, version_panel
        from curation.services import sources
        from models_registry import panels

        for hooks, hook in ((sources.EXCLUSION_HOOKS, held_out_content_keys), (panels.version_panels, version_panel),
                            (panels.compare_panels, compare_panel)):
            if hook not in hooks:
                hooks.append(hook)

    def overview_counts(self):
        from arena.models import Evaluation

        return [{"key": "evaluations_running", "label": "Evaluations running",
                 "value": Evaluation.objects.active().count(), "url": "/arena/"}]
