"""Admin for the git area: repositories and their commit examples."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from curation.models import CommitExample, GitRepository, MiningJob, ReviewStatus
from curation.services.git_mining import request_mining
from curation.services.review import bulk_review


@admin.register(GitRepository)
class GitRepositoryAdmin(admin.ModelAdmin):
    list_display = ("name", "path", "branch", "last_mined_at")
    search_fields = ("name", "path")
    readonly_fields = ("last_mined_sha", "last_mined_at", "created_by", "created_at")
    actions = ["mine_now"]

    @admin.action(description="Mine selected repositories now")
    def mine_now(self, request, queryset):
        started, refused = 0, []
        for repository in queryset:
            try:
                request_mining(repository, user=request.user)
            except ValidationError as exc:  # already being mined (or refused): say so, never a 500
                refused.append(" ".join(exc.messages))
            else:
                started += 1
        self.message_user(request, f"{started} mining(s) queued.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)


@admin.register(MiningJob)
class MiningJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "repository", "status", "progress_done", "progress_total", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("repository",)
    readonly_fields = [field.name for field in MiningJob._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(CommitExample)
class CommitExampleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "repository", "commit_type", "review_status", "diff_truncated", "files_changed",
                    "occurred_at")
    list_filter = ("review_status", "commit_type", "diff_truncated", "repository")
    search_fields = ("commit_sha", "message", "author_name")
    readonly_fields = ("repository", "commit_sha", "content_key", "occurred_at", "created_at")
    list_select_related = ("repository",)
    actions = ["approve", "reject"]

    @admin.action(description="Approve selected examples", permissions=["change"])
    def approve(self, request, queryset):
        changed = bulk_review(CommitExample, queryset.values_list("pk", flat=True), ReviewStatus.APPROVED,
                              user=request.user)
        self.message_user(request, f"{changed} example(s) approved.", messages.SUCCESS)

    @admin.action(description="Reject selected examples", permissions=["change"])
    def reject(self, request, queryset):
        changed = bulk_review(CommitExample, queryset.values_list("pk", flat=True), ReviewStatus.REJECTED,
                              user=request.user)
        self.message_user(request, f"{changed} example(s) rejected.", messages.SUCCESS)
