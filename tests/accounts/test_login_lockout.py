"""Repeated wrong passwords lock out the user name and, separately, the client address."""

import pytest
from django.contrib.auth import SESSION_KEY

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 5


def attempt(client, user, password, address):
    client.logout()
    return client.post(LOGIN, {"username": user if isinstance(user, str) else user.username,
                               "password": password}, REMOTE_ADDR=address)


def signed_in(client):
    return SESSION_KEY in client.session


def test_five_wrong_passwords_lock_the_user_out_even_with_the_right_one(client, bob):
    for _ in range(4):
        assert attempt(client, bob, "wrong", "10.0.0.1").status_code == 200
    assert attempt(client, bob, "wrong", "10.0.0.1").status_code == 429  # the fifth locks
    response = attempt(client, bob, PASSWORD, "10.0.0.1")
    assert response.status_code == 429 and not signed_in(client)


def test_the_user_name_stays_locked_from_any_address(client, bob, carol):
    for n in range(5):
        attempt(client, bob, "wrong", f"10.0.1.{n}")
    assert attempt(client, bob, PASSWORD, "10.0.2.99").status_code == 429 and not signed_in(client)
    assert attempt(client, carol, PASSWORD, "10.0.2.99").status_code == 302 and signed_in(client)


def test_an_address_that_guesses_many_user_names_is_locked_for_everyone_from_it(client, bob, carol):
    for n in range(5):
        attempt(client, f"guess{n}", "wrong", "10.0.3.1")
    assert attempt(client, carol, PASSWORD, "10.0.3.1").status_code == 429 and not signed_in(client)
    assert attempt(client, bob, PASSWORD, "10.0.3.2").status_code == 302 and signed_in(client)


def test_a_correct_login_before_the_limit_resets_the_count(client, bob):
    for _ in range(4):
        attempt(client, bob, "wrong", "10.0.4.1")
    assert attempt(client, bob, PASSWORD, "10.0.4.1").status_code == 302
    for _ in range(4):
        attempt(client, bob, "wrong", "10.0.4.1")
    assert attempt(client, bob, PASSWORD, "10.0.4.1").status_code == 302 and signed_in(client)


def test_a_forged_x_forwarded_for_does_not_escape_the_address_lockout(client, bob, carol):
    """With no trusted proxy (TRUSTED_PROXY_COUNT=0) the header is ignored: the socket's address counts."""
    for n in range(5):
        client.logout()
        client.post(LOGIN, {"username": f"guess{n}", "password": "wrong"}, REMOTE_ADDR="10.0.5.1",
                    HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    response = client.post(LOGIN, {"username": carol.username, "password": PASSWORD}, REMOTE_ADDR="10.0.5.1",
                           HTTP_X_FORWARDED_FOR="198.51.100.200")
    assert response.status_code == 429 and not signed_in(client)
