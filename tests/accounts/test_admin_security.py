"""The Django admin cannot be used to step around roles or the services' checks."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.factories import make_user
from tests.training.factories import make_snapshot
from training import services as training_services
from training.models import TrainingRun

pytestmark = pytest.mark.django_db
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def user_form(user, **overrides):
    data = {"username": user.username, "first_name": "", "last_name": "", "email": "", "is_active": "on",
            "is_staff": "on", "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
            "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}
    data.update(overrides)
    return data


def test_an_admin_who_is_not_a_superuser_cannot_make_anyone_a_superuser(client, alice, bob):
    client.force_login(alice)
    for target in (alice, bob):
        response = client.post(f"/admin/auth/user/{target.pk}/change/", user_form(target, is_superuser="on"))
        assert response.status_code == 302, response.content.decode()[:3000]
        target.refresh_from_db()
        assert not target.is_superuser
    assert not get_user_model().objects.filter(is_superuser=True).exists()


def test_an_admin_cannot_grant_single_permissions(client, alice):
    from django.contrib.auth.models import Permission

    client.force_login(alice)
    permission = Permission.objects.get(codename="change_group")
    client.post(f"/admin/auth/user/{alice.pk}/change/", user_form(alice, user_permissions=[str(permission.pk)]))
    assert not alice.user_permissions.exists()


def test_an_admin_cannot_change_or_delete_a_superuser_nor_set_its_password(client, alice):
    root = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(alice)
    assert client.post(f"/admin/auth/user/{root.pk}/password/",
                       {"password1": "Taken-Over-123!", "password2": "Taken-Over-123!"}).status_code == 403
    client.post(f"/admin/auth/user/{root.pk}/change/", user_form(root, username="renamed"))
    client.post(f"/admin/auth/user/{root.pk}/delete/", {"post": "yes"})
    root.refresh_from_db()
    assert root.username == "root" and root.check_password("correct-horse-battery-staple")


def test_a_superuser_may_grant_superuser_status(client, bob):
    root = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(root)
    response = client.post(f"/admin/auth/user/{bob.pk}/change/", user_form(bob, is_superuser="on"))
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.is_superuser


def test_a_runs_inputs_cannot_be_edited_in_the_admin(client, bob):
    bob.is_staff = True
    bob.save(update_fields=["is_staff"])
    run = training_services.start_run(bob, dataset=make_snapshot(), base_model=MODEL)
    other = make_snapshot()
    client.force_login(bob)
    url = f"/admin/training/trainingrun/{run.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: _as_post_value(form[name].value()) for name in form.fields}  # every editable field, valid
    data.update({"base_model": "/etc", "hyperparameters": '{"lora_rank": 100000}', "dataset": other.pk})
    assert client.post(url, data).status_code == 302
    run.refresh_from_db()
    assert run.base_model == MODEL and run.dataset_id != other.pk
    assert run.hyperparameters["lora_rank"] != 100000


def _as_post_value(value):
    import json

    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def test_runs_cannot_be_added_in_the_admin(client):
    root = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(root)
    assert client.get("/admin/training/trainingrun/add/").status_code == 403
    assert not TrainingRun.objects.exists()


def test_the_first_admin_password_goes_through_the_password_validators(monkeypatch):
    for weak in ("a", "password", "12345678", "administrator"):
        monkeypatch.setenv("ACADEMY_ADMIN_PASSWORD", weak)
        with pytest.raises(CommandError, match="ACADEMY_ADMIN_PASSWORD is refused"):
            call_command("ensure_admin", username="admin")
    assert not get_user_model().objects.filter(username="admin").exists()
