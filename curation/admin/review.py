"""Admin for the review area: lessons and conversations with bulk approve/reject."""

from django.contrib import admin, messages

from accounts.admin_access import RoleAccess
from accounts.roles import REVIEW_EXAMPLES
from curation import feedback_filters
from curation.models import Conversation, Lesson, ReviewStatus
from curation.services.review import bulk_review


class FeedbackFilter(admin.SimpleListFilter):
    """What training and evaluation learned: hard for the model, likely mislabelled."""

    title = "feedback"
    parameter_name = "signal"

    def lookups(self, request, model_admin):
        return [("hard", "The model finds it hard"), ("mislabelled", "Likely mislabelled"), ("flagged", "Either")]

    def queryset(self, request, queryset):
        return feedback_filters.with_signal(queryset, self.value()) if self.value() else queryset


class ReviewActionsMixin(RoleAccess):
    """Read with the dashboard role, approve/reject in bulk with the reviewer role (every reviewable admin)."""

    actions = ["approve", "reject"]

    # Staff read with the dashboard role and decide with the reviewer role; edits go through
    # the review queue (it keeps the content key right), so change stays a model permission.
    def has_change_permission(self, request, obj=None):
        return admin.ModelAdmin.has_change_permission(self, request, obj)

    def has_review_permission(self, request):
        return request.user.is_staff and request.user.has_perm(REVIEW_EXAMPLES)

    @admin.action(description="Approve selected", permissions=["review"])
    def approve(self, request, queryset):
        changed = bulk_review(self.model, queryset.values_list("pk", flat=True), ReviewStatus.APPROVED,
                              user=request.user)
        self.message_user(request, f"{changed} record(s) approved.", messages.SUCCESS)

    @admin.action(description="Reject selected", permissions=["review"])
    def reject(self, request, queryset):
        changed = bulk_review(self.model, queryset.values_list("pk", flat=True), ReviewStatus.REJECTED,
                              user=request.user)
        self.message_user(request, f"{changed} record(s) rejected.", messages.SUCCESS)


class ReviewAdmin(ReviewActionsMixin, admin.ModelAdmin):
    list_filter = ("review_status", FeedbackFilter, "origin", "occurred_at")
    date_hierarchy = "occurred_at"
    readonly_fields = ("content_key", "reviewed_by", "reviewed_at", "submitted_by", "origin", "created_at")
    list_per_page = 100

    def get_queryset(self, request):
        return feedback_filters.with_feedback_loss(super().get_queryset(request))

    @admin.display(description="final loss", ordering="feedback_loss")
    def feedback_loss(self, record):
        return f"{record.feedback_loss:.3f}" if record.feedback_loss is not None else "—"


@admin.register(Lesson)
class LessonAdmin(ReviewAdmin):
    list_display = ("__str__", "short_situation", "review_status", "feedback_loss", "origin", "occurred_at",
                    "reviewed_by")
    search_fields = ("lesson_id", "situation", "action", "result", "feedback")
    list_select_related = ("reviewed_by",)

    @admin.display(description="situation")
    def short_situation(self, lesson):
        return lesson.situation[:80]


@admin.register(Conversation)
class ConversationAdmin(ReviewAdmin):
    list_display = ("__str__", "task_id", "turns", "review_status", "feedback_loss", "origin", "occurred_at",
                    "reviewed_by")
    search_fields = ("task_id", "title")
    list_select_related = ("reviewed_by",)

    @admin.display(description="turns")
    def turns(self, conversation):
        return len(conversation.messages or [])
