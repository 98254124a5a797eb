from django.apps import AppConfig


class ArenaConfig(AppConfig):
    name = "arena"
    verbose_name = "Arena"

    def ready(self):
        # Frozen holdout records never enter a dataset build (curation calls the hook).
        from arena.holdouts import held_out_content_keys
        from curation.pipeline import sources

        if held_out_content_keys not in sources.EXCLUSION_HOOKS:
            sources.EXCLUSION_HOOKS.append(held_out_content_keys)
