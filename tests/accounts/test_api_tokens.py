import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from accounts.models import ApiToken, hash_token
from accounts.services import create_api_token, revoke_api_token
from tests.factories import bearer, make_token


@pytest.mark.django_db
def test_api_without_credentials_gets_401_json(client):
    response = client.get(reverse("api_whoami"))
    assert response.status_code == 401
    assert response.json()["error"].startswith("authentication required")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_token_authenticates_and_acts_with_its_role(client, alice):
    raw = make_token(alice, "Viewer", name="agent")
    response = client.get(reverse("api_whoami"), **bearer(raw))
    assert response.status_code == 200
    assert response.json()["token"] == {"name": "agent", "role": "Viewer"}


@pytest.mark.django_db
def test_token_is_stored_only_as_hash(alice):
    token, raw = create_api_token(alice, name="x", role="Admin")
    token.refresh_from_db()
    assert raw not in (token.key_hash, token.prefix)
    assert token.key_hash == hash_token(raw)
    assert raw.startswith(token.prefix)


@pytest.mark.django_db
def test_token_role_limits_permissions(alice):
    viewer_token, _ = create_api_token(alice, name="ro", role="Viewer")
    assert viewer_token.has_perm("accounts.view_dashboard")
    assert not viewer_token.has_perm("accounts.manage_models")


@pytest.mark.django_db
def test_user_cannot_mint_token_for_role_they_do_not_hold(bob):
    with pytest.raises(ValidationError, match="does not hold the Admin role"):
        create_api_token(bob, name="escalate", role="Admin")


@pytest.mark.django_db
def test_revoked_token_is_refused(client, bob):
    token, raw = create_api_token(bob, name="t", role="Operator")
    revoke_api_token(token, by=bob)
    assert client.get(reverse("api_whoami"), **bearer(raw)).status_code == 401


@pytest.mark.django_db
def test_wrong_scheme_and_garbage_tokens_are_refused(client, bob):
    raw = make_token(bob, "Operator")
    assert client.get(reverse("api_whoami"), HTTP_AUTHORIZATION=f"Basic {raw}").status_code == 401
    assert client.get(reverse("api_whoami"), **bearer("aca_nonsense")).status_code == 401


@pytest.mark.django_db
def test_outsider_token_gets_403(client, dave, alice):
    token, raw = create_api_token(alice, name="t", role="Viewer")
    ApiToken.objects.filter(pk=token.pk).update(user=dave)
    response = client.get(reverse("api_whoami"), **bearer(raw))
    assert response.status_code == 403
    assert "accounts.view_dashboard" in response.json()["error"]


@pytest.mark.django_db
def test_create_token_in_ui_shows_it_once(client, bob):
    client.force_login(bob)
    response = client.post(reverse("api_tokens"), {"name": "ci agent", "role": "Operator"})
    assert response.status_code == 200
    raw = response.context["raw"]
    assert raw.encode() in response.content
    listing = client.get(reverse("api_tokens"))
    assert raw.encode() not in listing.content
    assert client.get(reverse("api_whoami"), **bearer(raw)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("who, status, revoked", [("bob", 403, False), ("alice", 302, True)],
                         ids=["another-user-cannot", "an-admin-can"])
def test_only_the_owner_or_an_admin_revokes_a_token(client, request, carol, who, status, revoked):
    token, _ = create_api_token(carol, name="carols", role="Reviewer")
    client.force_login(request.getfixturevalue(who))
    assert client.post(reverse("revoke_token", args=[token.pk])).status_code == status
    token.refresh_from_db()
    assert token.is_revoked is revoked


@pytest.mark.django_db
def test_create_api_token_command_prints_token_once(client, bob, capsys):
    call_command("create_api_token", "bob", "--name", "automation")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("aca_")
    assert client.get(reverse("api_whoami"), **bearer(raw)).json()["token"]["role"] == "Operator"


@pytest.mark.django_db
def test_create_api_token_command_refuses_unknown_user():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("create_api_token", "nobody")
