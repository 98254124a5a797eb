from django.apps import AppConfig


class ModelsRegistryConfig(AppConfig):
    name = "models_registry"
    verbose_name = "Model registry"

    def ready(self):
        # A succeeded run registers its adapter as a candidate version (training calls the hooks).
        from models_registry.services import register_run_version
        from training.services import on_run_succeeded

        if register_run_version not in on_run_succeeded:
            on_run_succeeded.append(register_run_version)

    def overview_counts(self):
        from django.urls import reverse

        from models_registry.models import ModelLine, ModelVersion

        lines = reverse("line_list")
        return [
            {"key": "model_lines", "label": "Model lines", "value": ModelLine.objects.count(), "url": lines},
            {"key": "candidate_versions", "label": "Candidate versions",
             "value": ModelVersion.objects.candidates().count(), "url": lines},
        ]

    def overview_steps(self):
        from models_registry.overview import steps

        return steps()

    def overview_waiting(self):
        from models_registry.overview import waiting

        return waiting()

    def overview_panel(self, request):
        from models_registry.overview import panel

        return panel(request)
