"""Admin for the datasets area: read-only views of builds and snapshots (they are immutable records)."""

from django.contrib import admin

from accounts.admin_access import RoleAccess
from curation.models import DatasetBuild, DatasetSnapshot


class ReadOnlyAdmin(RoleAccess, admin.ModelAdmin):
    # Staff who may read the dashboard may read these records here too; nobody edits them.
    services_only = True


@admin.register(DatasetBuild)
class DatasetBuildAdmin(ReadOnlyAdmin):
    list_display = ["name", "format", "status", "progress", "snapshot", "created_by", "created_at"]
    list_filter = ["status", "format"]
    search_fields = ["name", "error"]
    readonly_fields = ["name", "format", "status", "progress", "error", "config", "funnel", "snapshot",
                       "created_by", "created_at", "started_at", "finished_at"]


@admin.register(DatasetSnapshot)
class DatasetSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["name", "short_hash", "format", "row_count", "train_count", "eval_count", "created_at"]
    list_filter = ["format"]
    search_fields = ["name", "sha256"]
    readonly_fields = ["name", "sha256", "format", "path", "row_count", "train_count", "eval_count", "config",
                       "stats", "funnel", "created_by", "created_at"]
