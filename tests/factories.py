"""Plain factories shared by the tests."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.services import create_api_token, sync_roles

PASSWORD = "correct-horse-battery-staple"


def make_user(username: str, *roles: str, **extra):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    if roles:
        sync_roles()  # transactional tests flush the groups the migration created
        user.groups.add(*Group.objects.filter(name__in=roles))
    return user


def make_token(user, role: str, name: str = "test") -> str:
    _, raw = create_api_token(user, name=name, role=role)
    return raw


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
