from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from accounts.models import ApiToken
from accounts.services import revoke_api_token


@admin.action(description="Revoke selected tokens")
def revoke_tokens(modeladmin, request, queryset):
    for token in queryset:
        revoke_api_token(token, by=request.user)
    modeladmin.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "role", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("role", "revoked_at")
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    actions = [revoke_tokens]

    def has_add_permission(self, request):
        # Tokens are created in the dashboard or with manage.py create_api_token, which
        # show the secret once; the admin cannot show it.
        return False


class AcademyUserAdmin(UserAdmin):
    """Django's user admin, where only superusers grant superuser status or single permissions.

    The Admin role manages users, but must not be able to raise itself (or anyone) above the
    roles: is_superuser and user_permissions are read-only for non-superusers, and superuser
    accounts (their password included) can be changed or deleted only by a superuser.
    """

    _SUPERUSER_ONLY = ("is_superuser", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else fields + self._SUPERUSER_ONLY

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


User = get_user_model()
admin.site.unregister(User)
admin.site.register(User, AcademyUserAdmin)
