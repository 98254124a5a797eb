"""Roles are Django groups; this is the one place that says what each role may do, and how it is asked.

`allows(user, permission, token)` is the one permission test (a user, or a user acting through
an API token's role); `require(actor, permission)` is how a service refuses, with one message.
"""

from django.core.exceptions import PermissionDenied
from django.db import models


class Role(models.TextChoices):
    VIEWER = "Viewer", "Viewer"
    REVIEWER = "Reviewer", "Reviewer"
    OPERATOR = "Operator", "Operator"
    ADMIN = "Admin", "Admin"


# codename -> description; all live on accounts.Access (permissions without a table).
CAPABILITIES = {
    "view_dashboard": "Can view the dashboard and its data",
    "review_examples": "Can review lessons and conversations",
    "ingest_experience": "Can submit lessons, task history and git sources",
    "build_datasets": "Can build dataset snapshots",
    "operate_training": "Can start and cancel training runs",
    "manage_models": "Can promote, roll back and archive model versions",
    "manage_users": "Can manage users and everyone's API tokens",
}

# Full permission names, for has_perm() and permission_required: import these, never spell the string.
VIEW_DASHBOARD = "accounts.view_dashboard"
REVIEW_EXAMPLES = "accounts.review_examples"
INGEST_EXPERIENCE = "accounts.ingest_experience"
BUILD_DATASETS = "accounts.build_datasets"
OPERATE_TRAINING = "accounts.operate_training"
MANAGE_MODELS = "accounts.manage_models"
MANAGE_USERS = "accounts.manage_users"

ROLE_CAPABILITIES = {
    Role.VIEWER: ("view_dashboard",),
    Role.REVIEWER: ("view_dashboard", "review_examples"),
    Role.OPERATOR: ("view_dashboard", "ingest_experience", "build_datasets", "operate_training"),
    Role.ADMIN: tuple(CAPABILITIES),
}


# Django model permissions a role needs in the admin site ("app_label.codename").
# Admins manage users there; everything else goes through the capabilities above.
ROLE_ADMIN_PERMISSIONS = {
    Role.ADMIN: ("auth.view_user", "auth.add_user", "auth.change_user", "auth.delete_user", "auth.view_group",
                 # periodic tasks (the Professor's check, housekeeping) are edited in the admin
                 "django_celery_beat.view_periodictask", "django_celery_beat.change_periodictask",
                 "django_celery_beat.view_intervalschedule", "django_celery_beat.add_intervalschedule",
                 "django_celery_beat.change_intervalschedule", "django_celery_beat.view_crontabschedule",
                 "django_celery_beat.add_crontabschedule", "django_celery_beat.change_crontabschedule"),
}


def needs_role(permission: str) -> str:
    """In plain words, the least role that grants `permission` ("accounts.<codename>"): for people, not codenames."""
    codename = permission.split(".", 1)[-1]
    role = next((role for role in Role if codename in ROLE_CAPABILITIES[role]), Role.ADMIN)
    return f"this needs the {role.label} role"


def refusal(*permissions: str) -> str:
    """Why a refused actor was refused: the least role in plain words, then the permission names."""
    return f"{needs_role(permissions[0])} ({' or '.join(permissions)})"


class RoleRequired(PermissionDenied):
    """What require() raises: str() is refusal(); `in_words` says only the role, for pages that show no codenames."""

    def __init__(self, *permissions: str):
        self.permissions = permissions
        self.in_words = needs_role(permissions[0])
        super().__init__(refusal(*permissions))


def allows(user, permission: str, token=None) -> bool:
    """Whether `user` may use `permission`; through an API `token`, only what the token's role grants as well."""
    if token is not None:
        return token.has_perm(permission)
    return user.has_perm(permission)


def require(actor, permission: str, *alternatives: str) -> None:
    """Refuse with RoleRequired (a PermissionDenied) unless `actor` holds `permission` (or one of `alternatives`).

    `actor` is a user or an API principal (anything with has_perm); None is refused. A service
    that also acts for the system itself calls require_unless_system() instead.
    """
    if actor is None or not any(actor.has_perm(p) for p in (permission, *alternatives)):
        raise RoleRequired(permission, *alternatives)


def require_unless_system(actor, permission: str, *alternatives: str) -> None:
    """As require(), but actor None is the system itself and may: a command run by the server's owner, a hook,
    the unattended cycle."""
    if actor is not None:
        require(actor, permission, *alternatives)


def role_permissions(role: str) -> set[str]:
    """Full permission names ("accounts.<codename>") a role grants."""
    return {f"accounts.{codename}" for codename in ROLE_CAPABILITIES[Role(role)]}


def roles_of(user) -> list[str]:
    """Roles a user holds (superusers hold every role)."""
    if user.is_superuser:
        return [role.value for role in Role]
    names = set(user.groups.values_list("name", flat=True))
    return [role.value for role in Role if role.value in names]


def grantable_roles(user) -> list[str]:
    """Roles whose capabilities the user has, i.e. the roles a token of theirs may act with."""
    if not user.is_active:
        return []
    held = user.get_all_permissions()
    return [role.value for role in Role if role_permissions(role) <= held]
