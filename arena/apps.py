from django.apps import AppConfig


class ArenaConfig(AppConfig):
    name = "arena"
    verbose_name = "Arena"

    def ready(self):
        # Frozen holdout records never enter a dataset build (curation calls the hook); an evaluation's end
        # reaches on_evaluation_finished (arena.hooks) through the job lifecycle's on_ended.
        from arena.holdouts import held_out_content_keys
        from arena.hooks import call_finished_hooks
        from arena.panels import compare_panel, version_panel
        from curation.services import sources
        from jobs import lifecycle
        from models_registry import panels

        for hooks, hook in ((sources.EXCLUSION_HOOKS, held_out_content_keys), (panels.version_panels, version_panel),
                            (panels.compare_panels, compare_panel), (lifecycle.on_ended, call_finished_hooks)):
            if hook not in hooks:
                hooks.append(hook)

    def overview_counts(self):
        from django.urls import reverse

        from arena.models import Evaluation

        return [{"key": "evaluations_running", "label": "Evaluations running",
                 "value": Evaluation.objects.active().count(), "url": reverse("arena_home")}]
