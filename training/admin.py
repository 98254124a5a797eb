from django.contrib import admin, messages

from accounts.admin_access import RoleAccess
from accounts.roles import OPERATE_TRAINING
from jobs.lifecycle import JobRefused
from training import services
from training.models import MetricPoint, RunLogLine, TrainingRun, TrainingWorker


@admin.action(description="Cancel selected runs", permissions=["change"])
def cancel_runs(modeladmin, request, queryset):
    done = 0
    for run in queryset:
        try:
            services.cancel_run(run, request.user)
            done += 1
        except JobRefused as exc:
            modeladmin.message_user(request, str(exc), messages.WARNING)
    modeladmin.message_user(request, f"Cancellation requested for {done} run(s).")


class _RoleAccess(RoleAccess):
    """Staff see training records with the dashboard role and change runs (cancel) with the operator role."""

    change_permission = OPERATE_TRAINING


@admin.register(TrainingRun)
class TrainingRunAdmin(_RoleAccess, admin.ModelAdmin):
    list_display = ("id", "status", "dataset", "base_model", "backend", "device", "worker", "progress", "created_at")
    list_filter = ("status", "backend")
    search_fields = ("base_model", "dataset__sha256", "worker")
    actions = [cancel_runs]

    def has_add_permission(self, request):
        return False  # runs start through training.services, which check the dataset and base model

    def get_readonly_fields(self, request, obj=None):
        # Every field: the base model, hyperparameters and dataset were checked when the run
        # started (TRAINING_MODEL_ROOTS, ranges, snapshot hash), and a retry reuses them.
        return [field.name for field in self.model._meta.fields]


@admin.register(TrainingWorker)
class TrainingWorkerAdmin(_RoleAccess, admin.ModelAdmin):
    list_display = ("hostname", "queues", "backends", "current_run", "last_seen_at")
    readonly_fields = ("devices", "started_at", "last_seen_at")


class _ReadOnly(_RoleAccess):
    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MetricPoint)
class MetricPointAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("run", "kind", "step", "loss", "learning_rate", "tokens_per_s")
    list_filter = ("kind",)


@admin.register(RunLogLine)
class RunLogLineAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("run", "seq", "text")
