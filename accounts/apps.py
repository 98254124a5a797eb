from django.apps import AppConfig
from django.urls import reverse


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def overview_counts(self):
        from django.contrib.auth import get_user_model

        from accounts.models import ApiToken

        return [
            {"key": "users", "label": "Users", "value": get_user_model().objects.filter(is_active=True).count(),
             "url": reverse("admin:auth_user_changelist")},
            {"key": "api_tokens", "label": "Active API tokens", "value": ApiToken.objects.usable().count(),
             "url": reverse("api_tokens")},
        ]
