"""Admin for the git area: repositories and their commit examples."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from curation.admin.review import ReviewActionsMixin
from curation.models import CommitExample, GitRepository, MiningJob
from curation.services.git_mining import request_mining


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
            except PermissionDenied as exc:  # a staff member without the role
                refused.append(f"{repository.name}: {exc}")
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
class CommitExampleAdmin(ReviewActionsMixin, admin.ModelAdmin):
    """Bulk approve/reject needs the reviewer role, as for lessons (not Django's model change permission)."""

    list_display = ("__str__", "repository", "commit_type", "review_status", "diff_truncated", "files_changed",
                    "occurred_at")
    list_filter = ("review_status", "commit_type", "diff_truncated", "repository")
    search_fields = ("commit_sha", "message", "author_name")
    readonly_fields = ("repository", "commit_sha", "content_key", "occurred_at", "created_at")
    list_select_related = ("repository",)
