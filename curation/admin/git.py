"""Admin for the git area: repositories and their commit examples."""

from django.contrib import admin, messages

from curation.models import CommitExample, GitRepository, ReviewStatus
from curation.services.git_mining import request_mining
from curation.services.review import bulk_review


@admin.register(GitRepository)
class GitRepositoryAdmin(admin.ModelAdmin):
    list_display = ("name", "path", "branch", "status", "progress_done", "progress_total", "last_mined_at")
    list_filter = ("status",)
    search_fields = ("name", "path")
    readonly_fields = ("status", "progress_done", "progress_total", "error", "stats", "last_mined_sha",
                       "last_mined_at", "created_by", "created_at")
    actions = ["mine_now"]

    @admin.action(description="Mine selected repositories now")
    def mine_now(self, request, queryset):
        started = 0
        for repository in queryset:
            if not repository.is_mining:
                request_mining(repository)
                started += 1
        self.message_user(request, f"{started} mining(s) queued.", messages.SUCCESS)


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
