from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.urls import reverse


def _sync_roles(sender, **kwargs):
    from accounts.services import sync_roles

    sync_roles()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self):
        # accounts.roles is the one place roles are defined: every migrate makes the groups match it.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="accounts.sync_roles")

    def overview_counts(self):
        from django.contrib.auth import get_user_model

        from accounts.models import ApiToken

        return [
            {"key": "users", "label": "Users", "value": get_user_model().objects.filter(is_active=True).count(),
             "url": reverse("admin:auth_user_changelist")},
            {"key": "api_tokens", "label": "Active API tokens", "value": ApiToken.objects.usable().count(),
             "url": reverse("api_tokens")},
        ]
