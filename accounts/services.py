"""Account workflows: API tokens and the first admin account."""

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, hash_token
from accounts.roles import MANAGE_USERS, Role, grantable_roles

LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_api_token(user, *, name: str, role: str, expires_at=None) -> tuple[ApiToken, str]:
    """Create a token for `user` acting as `role`; return it and the raw secret (shown once)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A token needs a name."})
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; choose one of {', '.join(Role.values)}."})
    if role not in grantable_roles(user):
        raise ValidationError({"role": f"{user.username} does not hold the {role} role."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        user=user, name=name[:100], role=role, prefix=raw[:12], key_hash=hash_token(raw), expires_at=expires_at
    )
    return token, raw


def revoke_api_token(token: ApiToken, *, by) -> None:
    """Revoke a token; its owner or a user manager may do this."""
    if token.user_id != by.pk and not by.has_perm(MANAGE_USERS):
        raise PermissionDenied("Only the token's owner or an admin can revoke it.")
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def authenticate_token(raw: str) -> ApiToken | None:
    """Return the usable token matching `raw`, recording its use, or None."""
    if not raw or not raw.startswith("aca_") or len(raw) > 200:
        return None
    token = ApiToken.objects.usable().select_related("user").filter(key_hash=hash_token(raw)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


@transaction.atomic
def ensure_admin(username: str, *, password: str | None = None, email: str = "") -> tuple[bool, str | None]:
    """Create the first admin account if it does not exist.

    Returns (created, generated password or None); the caller prints a generated one once.
    """
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        return False, None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    else:
        # The same validators as every other password (length, common passwords, similarity).
        validate_password(password, user=User(username=username, email=email))
    user = User.objects.create_superuser(username=username, email=email, password=password)
    user.groups.add(Group.objects.get(name=Role.ADMIN))
    return True, generated


def sync_roles() -> None:
    """Make the role groups match accounts.roles (idempotent; the migration does it once)."""
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    from accounts.roles import ROLE_ADMIN_PERMISSIONS, ROLE_CAPABILITIES

    for role, codenames in ROLE_CAPABILITIES.items():
        wanted = Q(content_type__app_label="accounts", codename__in=codenames)
        for full_name in ROLE_ADMIN_PERMISSIONS.get(role, ()):
            app_label, codename = full_name.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set(Permission.objects.filter(wanted))
