from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training"

    def ready(self):
        # The broadcaster turns a run's trainer lines into its live messages through training's translation.
        from jobs import broadcast
        from training.live_events import RUN_EVENTS
        from training.models import TrainingRun

        broadcast.EVENT_KINDS[TrainingRun.group_prefix] = RUN_EVENTS
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
        # Where a retry resumes: the step of the checkpoint it will fetch, or from the start.
        from training.checkpoint_store import resume_panel

        if resume_panel not in hooks.run_page_panels:
            hooks.run_page_panels.insert(1, resume_panel)

    def overview_counts(self):
        from django.urls import reverse

        from jobs.models import JobStatus
        from training.models import TrainingRun
        from training.workers import online_workers

        runs = reverse("run_list")
        return [
            {"key": "runs_queued", "label": "Runs queued", "value": TrainingRun.objects.filter(
                status=JobStatus.QUEUED).count(), "url": runs},
            {"key": "runs_active", "label": "Runs in progress", "value": TrainingRun.objects.filter(
                status__in=(JobStatus.PREPARING, JobStatus.RUNNING)).count(), "url": runs},
            {"key": "training_workers", "label": "Training workers online", "value": online_workers().count(),
             "url": runs},
        ]

    def overview_steps(self):
        from training.overview import steps

        return steps()

    def overview_panel(self, request):
        from training.overview import panel

        return panel(request)
