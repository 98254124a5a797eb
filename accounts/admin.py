from django.contrib import admin, messages

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
