from django.contrib import admin, messages

from professor import services
from professor.models import Cycle, JournalEntry, Lease, MemoryImport, ParameterChoice, Trigger


class JournalInline(admin.TabularInline):
    model = JournalEntry
    extra = 0
    can_delete = False
    readonly_fields = ("at", "step", "outcome", "message", "numbers", "links", "job_kind", "job_id")
    exclude = ("asked_by", "asker", "words")


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "trigger", "line", "status", "outcome", "summary")
    list_filter = ("status", "outcome", "trigger")
    readonly_fields = ("status", "progress", "outcome", "outcome_reason", "summary", "error", "human_error",
                       "heartbeat_at", "worker",
                       "attempt", "dataset", "run", "version", "evaluation_ref", "started_at", "finished_at")
    inlines = [JournalInline]
    actions = ["start_cycle"]

    @admin.action(description="Start a new cycle now")
    def start_cycle(self, request, queryset):
        try:
            cycle = services.start_cycle(request.user, trigger=Trigger.WEB)
        except services.LeaseBusy as exc:
            self.message_user(request, f"Not started: {exc}", messages.WARNING)
            return
        self.message_user(request, f"Cycle {cycle.pk} queued.")


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = ("name", "cycle", "acquired_at", "heartbeat_at", "expires_at")
    readonly_fields = ("acquired_at", "heartbeat_at")


@admin.register(MemoryImport)
class MemoryImportAdmin(admin.ModelAdmin):
    list_display = ("path", "sha256", "created", "duplicates", "skipped", "imported_at")


@admin.register(ParameterChoice)
class ParameterChoiceAdmin(admin.ModelAdmin):
    list_display = ("run", "source", "worker", "created_at")
    readonly_fields = ("run",)
