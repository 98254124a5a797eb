import pytest
from django.urls import reverse

PAGES = ["overview", "lesson_list", "repository_list", "dataset_list", "run_list", "line_list", "api_tokens"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_anonymous_pages_redirect_to_login(client, page):
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_every_role_can_read_pages(client, alice, bob, carol, viewer, page):
    for user in (alice, bob, carol, viewer):
        client.force_login(user)
        assert client.get(reverse(page)).status_code == 200, user.username


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_it_rejects_outsider_with_403(client, dave, page):
    client.force_login(dave)
    response = client.get(reverse(page))
    assert response.status_code == 403
    assert b"Permission denied" in response.content


@pytest.mark.django_db
def test_roles_grant_their_capabilities(alice, bob, carol, viewer, dave):
    assert alice.has_perm("accounts.manage_models") and alice.has_perm("accounts.manage_users")
    assert bob.has_perm("accounts.operate_training") and bob.has_perm("accounts.build_datasets")
    assert not bob.has_perm("accounts.manage_models") and not bob.has_perm("accounts.review_examples")
    assert carol.has_perm("accounts.review_examples") and not carol.has_perm("accounts.operate_training")
    assert viewer.has_perm("accounts.view_dashboard") and not viewer.has_perm("accounts.review_examples")
    assert not dave.has_perm("accounts.view_dashboard")


@pytest.mark.django_db
def test_login_page_renders_and_signs_in(client, bob):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and b"Sign in" in page.content
    response = client.post(reverse("login"), {"username": "bob", "password": "correct-horse-battery-staple"})
    assert response.status_code == 302
    assert client.get(reverse("overview")).status_code == 200


@pytest.mark.django_db
def test_overview_shows_real_counts(client, alice, bob):
    from tests.factories import make_token

    make_token(bob, "Operator")
    client.force_login(alice)
    counts = {c["key"]: c["value"] for c in client.get(reverse("overview")).context["counts"]}
    assert counts["users"] == 2
    assert counts["api_tokens"] == 1


@pytest.mark.django_db
def test_admin_command_prints_generated_password_once(capsys, monkeypatch):
    from django.contrib.auth import authenticate
    from django.core.management import call_command

    monkeypatch.delenv("ACADEMY_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin", username="root")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    assert authenticate(username="root", password=password) is not None
    call_command("ensure_admin", username="root")
    assert password not in capsys.readouterr().out


@pytest.mark.django_db
def test_admin_command_takes_password_from_environment(capsys, monkeypatch):
    from django.contrib.auth import authenticate
    from django.core.management import call_command

    monkeypatch.setenv("ACADEMY_ADMIN_PASSWORD", "chosen-by-operator-42")
    call_command("ensure_admin", username="ops")
    out = capsys.readouterr().out
    assert "password from ACADEMY_ADMIN_PASSWORD" in out
    assert "chosen-by-operator-42" not in out
    user = authenticate(username="ops", password="chosen-by-operator-42")
    assert user is not None and user.is_superuser and user.groups.filter(name="Admin").exists()


@pytest.mark.django_db
def test_admin_role_manages_users_in_the_admin_and_operator_cannot(client, alice, bob):
    bob.is_staff = True
    bob.save(update_fields=["is_staff"])
    client.force_login(alice)
    assert not alice.is_superuser
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_user_change", args=[bob.pk])).status_code == 200
    client.force_login(bob)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403


@pytest.mark.django_db
def test_the_migration_gave_the_admin_group_user_management():
    from django.contrib.auth.models import Group

    codenames = set(Group.objects.get(name="Admin").permissions.values_list("codename", flat=True))
    assert {"view_user", "add_user", "change_user", "delete_user", "manage_models"} <= codenames


@pytest.mark.django_db
def test_migrate_makes_the_role_groups_match_roles_py_again():
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from accounts.roles import REVIEW_EXAMPLES, Role, role_permissions

    Group.objects.filter(name=Role.REVIEWER).delete()
    Group.objects.get(name=Role.VIEWER).permissions.clear()
    call_command("migrate", verbosity=0)
    reviewer = Group.objects.get(name=Role.REVIEWER)
    assert {f"accounts.{p.codename}" for p in reviewer.permissions.all()} == role_permissions(Role.REVIEWER)
    assert REVIEW_EXAMPLES in role_permissions(Role.REVIEWER)
    assert Group.objects.get(name=Role.VIEWER).permissions.count() == len(role_permissions(Role.VIEWER))


def test_a_missing_permission_is_named_by_the_least_role_that_grants_it():
    from accounts.roles import MANAGE_MODELS, OPERATE_TRAINING, REVIEW_EXAMPLES, VIEW_DASHBOARD, needs_role

    assert needs_role(VIEW_DASHBOARD) == "this needs the Viewer role"
    assert needs_role(REVIEW_EXAMPLES) == "this needs the Reviewer role"
    assert needs_role(OPERATE_TRAINING) == "this needs the Operator role"
    assert needs_role(MANAGE_MODELS) == "this needs the Admin role"
