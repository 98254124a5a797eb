from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training"

    def ready(self):
        # Each example's loss after a run goes back to its source record (curation's review signals).
        from training.feedback import record_example_losses
        from training.services import hooks

        if record_example_losses not in hooks.on_run_succeeded:
            hooks.on_run_succeeded.append(record_example_losses)
        # A run no worker could take says so from the start, on its page and in the API.
        from training.workers import on_run_created, waiting_panel

        if on_run_created not in hooks.on_run_created:
            hooks.on_run_created.append(on_run_created)
        if waiting_panel not in hooks.run_page_panels:
            hooks.run_page_panels.insert(0, waiting_panel)

    def overview_counts(self):
        from training.models import RunStatus, TrainingRun
        from training.workers import online_workers

        return [
            {"key": "runs_queued", "label": "Runs queued", "value": TrainingRun.objects.filter(
                status=RunStatus.QUEUED).count(), "url": "/training/"},
            {"key": "runs_active", "label": "Runs in progress", "value": TrainingRun.objects.filter(
                status__in=(RunStatus.PREPARING, RunStatus.RUNNING)).count(), "url": "/training/"},
            {"key": "training_workers", "label": "Training workers online", "value": online_workers().count(),
             "url": "/training/"},
        ]

    def overview_steps(self):
        from training.overview import steps

        return steps()

    def overview_panel(self, request):
        from training.overview import panel

        return panel(request)
