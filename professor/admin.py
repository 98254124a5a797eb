from django.contrib import admin, messages

from jobs.lifecycle import JobRefused
from professor import services
from professor.models import Cycle, JournalEntry, MemoryImport, ParameterChoice, Trigger


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
                       "heartbeat_at", "worker", "attempt", "dataset", "run", "version", "evaluation",
                       "waiting_for", "waiting_kind", "waiting_id", "started_at", "finished_at")
    inlines = [JournalInline]
    actions = ["start_cycle", "cancel_cycles"]

    @admin.action(description="Start a new cycle now")
    def start_cycle(self, request, queryset):
        try:
            cycle = services.start_cycle(request.user, trigger=Trigger.WEB)
        except services.CycleBusy as exc:
            self.message_user(request, f"Not started: {exc}", messages.WARNING)
            return
        self.message_user(request, f"Cycle {cycle.pk} queued.")

    @admin.action(description="Cancel the selected cycles (and the job each waits for)")
    def cancel_cycles(self, request, queryset):
        for cycle in queryset:
            try:
                services.cancel_cycle(cycle.pk)
            except JobRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)


@admin.register(MemoryImport)
class MemoryImportAdmin(admin.ModelAdmin):
    list_display = ("path", "sha256", "created", "duplicates", "skipped", "imported_at")


@admin.register(ParameterChoice)
class ParameterChoiceAdmin(admin.ModelAdmin):
    list_display = ("run", "source", "worker", "created_at")
    readonly_fields = ("run",)
