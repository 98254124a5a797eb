import pytest
from django.contrib.admin import helpers
from django.core.management import CommandError, call_command

from models_registry import services
from models_registry.models import ModelVersion, VersionStatus
from tests.factories import make_user
from tests.models_registry.factories import make_line, make_version

NON_ADMINS = ["bob", "carol", "viewer"]


@pytest.fixture
def line(db):
    return make_line()


@pytest.fixture
def versions(line, alice):
    v1, v2 = make_version(line), make_version(line)
    services.promote_version(v1, alice, "first")
    return v1, v2


@pytest.mark.parametrize("who", ["alice", *NON_ADMINS])
def test_every_role_sees_lines_versions_and_compare(client, versions, who, request):
    client.force_login(request.getfixturevalue(who))
    for url in ("/models/", "/models/venom-coder/", "/models/venom-coder/v1/",
                "/models/venom-coder/compare/?a=v1&b=v2"):
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get("/models/venom-coder/").content.decode()
    assert 'data-version="v1" data-status="active"' in page  # genealogy marks the active one
    assert ("Promote</button>" in page) == (who == "alice")


def test_outsider_sees_nothing(client, versions, dave):
    client.force_login(dave)
    assert client.get("/models/").status_code == 403
    assert client.get("/models/venom-coder/").status_code == 403


@pytest.mark.parametrize("who", NON_ADMINS)
def test_non_admins_cannot_act_from_the_dashboard(client, versions, who, request):
    v1, v2 = versions
    client.force_login(request.getfixturevalue(who))
    assert client.get("/models/venom-coder/v2/promote/").status_code == 403
    assert client.post("/models/venom-coder/v2/promote/", {"reason": "x"}).status_code == 403
    assert client.post("/models/venom-coder/rollback/", {"reason": "x"}).status_code == 403
    assert client.post("/models/venom-coder/v2/archive/").status_code == 403
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.CANDIDATE


def test_admin_promotes_after_a_confirmation_page_stating_the_change(client, versions, alice):
    v1, v2 = versions
    client.force_login(alice)
    page = client.get("/models/venom-coder/v2/promote/").content.decode()
    assert "becomes the active version" in page and "<strong>v1</strong> is archived" in page
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.CANDIDATE  # GET changes nothing
    response = client.post("/models/venom-coder/v2/promote/", {"reason": "better", "confirm": "yes"})
    assert response.status_code == 302
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.ACTIVE


def test_admin_rollback_without_previous_shows_the_reason(client, line, alice):
    client.force_login(alice)
    response = client.post("/models/venom-coder/rollback/", {"reason": "oops"}, follow=True)
    assert "has no previous version to roll back to" in response.content.decode()


def test_admin_archives_a_candidate(client, versions, alice):
    client.force_login(alice)
    assert client.post("/models/venom-coder/v2/archive/").status_code == 302
    assert ModelVersion.objects.get(pk=versions[1].pk).status == VersionStatus.ARCHIVED


def _admin_action(client, action, pks, **extra):
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], **extra}
    return client.post("/admin/models_registry/modelversion/", data)


def test_admin_action_shows_confirmation_then_promotes(client, versions, alice):
    v1, v2 = versions
    client.force_login(alice)
    response = _admin_action(client, "promote", [v2.pk])
    assert response.status_code == 200
    assert "venom-coder:v2 becomes the active version" in response.content.decode()
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.CANDIDATE
    _admin_action(client, "promote", [v2.pk], post="yes", reason="admin action")
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.ACTIVE


def test_admin_line_action_rolls_back_and_archive_action_is_all_or_nothing(client, versions, alice):
    v1, v2 = versions
    client.force_login(alice)
    services.promote_version(v2, alice, "up")
    response = client.post("/admin/models_registry/modelline/", {
        "action": "rollback_line", helpers.ACTION_CHECKBOX_NAME: [str(v1.line_id)]})
    assert "venom-coder:v1 becomes active again" in response.content.decode()
    client.post("/admin/models_registry/modelline/", {"action": "rollback_line", "post": "yes", "reason": "bad",
                                                      helpers.ACTION_CHECKBOX_NAME: [str(v1.line_id)]})
    assert v1.line.active_version() == v1
    v3 = make_version(v1.line)
    _admin_action(client, "archive", [v3.pk, v1.pk], post="yes")  # v1 is active: refused, so v3 stays too
    assert ModelVersion.objects.get(pk=v3.pk).status == VersionStatus.CANDIDATE


@pytest.mark.parametrize("role", ["Operator", "Reviewer", "Viewer"])
def test_staff_without_admin_role_can_view_admin_but_not_act(client, versions, role):
    user = make_user(f"staff-{role}", role, is_staff=True)
    client.force_login(user)
    listing = client.get("/admin/models_registry/modelversion/")
    assert listing.status_code == 200
    assert 'value="promote"' not in listing.content.decode()
    _admin_action(client, "promote", [versions[1].pk], post="yes", reason="sneaky")
    assert ModelVersion.objects.get(pk=versions[1].pk).status == VersionStatus.CANDIDATE


def test_commands_promote_rollback_and_list(versions, capsys):
    call_command("promote", "venom-coder", "v2", "--reason", "cli")
    assert "venom-coder:v2 is now active (was v1)" in capsys.readouterr().out
    call_command("versions", "venom-coder")
    out = capsys.readouterr().out
    assert "v1       archived" in out and "v2       active" in out
    call_command("rollback", "venom-coder", "--reason", "cli back")
    assert "rolled back to v1" in capsys.readouterr().out


@pytest.mark.parametrize("who", ["bob", "carol", "victor"])
def test_commands_check_the_role_of_the_acting_user(versions, who, bob, carol, viewer):
    with pytest.raises(CommandError, match="manage_models"):
        call_command("promote", "venom-coder", "v2", "--reason", "x", "--user", who)
    with pytest.raises(CommandError, match="manage_models"):
        call_command("rollback", "venom-coder", "--reason", "x", "--user", who)


def test_commands_report_clear_errors(versions, alice):
    with pytest.raises(CommandError, match="no previous version"):
        call_command("rollback", "venom-coder", "--reason", "x", "--user", "alice")
    with pytest.raises(CommandError, match="has no version 'v9'"):
        call_command("promote", "venom-coder", "v9", "--reason", "x")
