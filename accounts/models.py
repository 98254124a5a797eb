import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.roles import CAPABILITIES, Role, role_permissions

TOKEN_PREFIX = "aca_"


class Access(models.Model):
    """Holds the role capabilities as permissions; it has no table of its own."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = list(CAPABILITIES.items())

    def __str__(self):
        return "access"


def hash_token(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no brute force).
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, user__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer token for a machine client, stored only as a hash, acting with one role."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=20, choices=Role.choices)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise the token.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def has_perm(self, perm: str) -> bool:
        """A token may do what its role grants, and never more than its user may."""
        return perm in role_permissions(self.role) and self.user.has_perm(perm)
