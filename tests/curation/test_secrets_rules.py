"""Placeholder words, Django keys, prose in other languages, netrc and webhooks (the corpus has more cases)."""

import pytest

from curation.secrets import scrub
from curation.secrets.context import is_django_secret_key, is_placeholder, value_tokens


@pytest.mark.parametrize("value", ["Sphere$Moon42", "Everywhere#2024", "Thereafter77", "Nowhere-99", "Fakir!9Lm2",
                                   "Dummyhead#44", "Examplar7!Q", "Only4Me!x9", "Yourself-22-Q"])
def test_a_placeholder_word_inside_a_longer_word_does_not_make_a_placeholder(value):
    assert not is_placeholder(value)


@pytest.mark.parametrize("value", ["your_password_here", "YOUR_API_KEY", "yourApiKeyHere", "fake-token-for-tests",
                                   "dev-only-not-secret", "test-only", "changeme123", "example", "dummy",
                                   "insecure-default", "PLACEHOLDER"])
def test_a_placeholder_word_as_a_whole_token_makes_a_placeholder(value):
    assert is_placeholder(value)


def test_tokens_split_at_symbols_case_changes_and_digits():
    assert value_tokens("Sphere$Moon42") == ["sphere", "moon", "42"]
    assert value_tokens("yourApiKey_HERE") == ["your", "api", "key", "here"]


@pytest.mark.parametrize("text, secret", [
    ("DB_PASSWORD=Sphere$Moon42", "Sphere$Moon42"),
    ("password: Everywhere#2024", "Everywhere#2024"),
    ("redis://:Thereafter77@cache:6379", "Thereafter77"),
    ("postgres://app:Nowhere-99@db/app", "Nowhere-99"),
])
def test_credentials_that_contain_a_placeholder_word_are_redacted(text, secret):
    assert secret not in scrub(text).text


def test_a_generated_django_key_is_a_secret_and_a_made_up_one_is_not():
    key = "django-insecure-3x!k9#v@q2m$7zr^w8p&l4n*t6y+u0s1a5e_d(h)j-f=g"
    assert is_django_secret_key(key) and not is_placeholder(key)
    assert scrub(f"SECRET_KEY={key}").text == "SECRET_KEY=[REDACTED:django_secret_key]"
    for made_up in ("django-insecure-change-me", "django-insecure-change-me-in-production-please",
                    "django-insecure-replace-this-with-a-real-secret-key-1234"):
        assert not is_django_secret_key(made_up)
        assert scrub(f"SECRET_KEY = '{made_up}'").findings == ()


@pytest.mark.parametrize("text", [
    "das Passwort ist Xy7#kLm2q", "le mot de passe est Xy7#kLm2q", "la contraseña es Xy7#kLm2q",
    "пароль: Xy7#kLm2q", "ПАРОЛЬ — Xy7#kLm2q", "密码是 Xy7#kLm2q", "密码：Xy7#kLm2q", "密码是：Xy7#kLm2q",
    "the admin password is Xy7#kLm2q.",
])
def test_a_password_written_in_prose_is_redacted_in_each_language(text):
    result = scrub(text)
    assert "Xy7#kLm2q" not in result.text and result.counts["password"] == 1
    assert result.text.startswith(text[:text.index("Xy7")])  # the words around the value stay


@pytest.mark.parametrize("text", [
    "Bitte das Passwort ist zu ändern.", "Das Passwort ist falsch.", "le mot de passe est trop court",
    "la contraseña es obligatoria", "Пароль: не задан", "密码是必填项", "Enter the password and press Enter.",
    "We send a password reset link by e-mail.", "machine example.com login me password changeme",
    "the value is config.password_hash.",
])
def test_prose_that_names_a_password_without_giving_one_is_left_alone(text):
    assert scrub(text).text == text


def test_a_netrc_entry_over_several_lines_is_redacted():
    netrc = "machine api.github.com\n    login octocat\n    password 2f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a\n"
    result = scrub(netrc)
    assert "2f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a" not in result.text
    assert result.text.endswith("password [REDACTED:password]\n") and "login octocat" in result.text


def test_a_discord_webhook_is_redacted_and_a_made_up_one_is_not():
    real = "https://discord.com/api/webhooks/1187654321098765432/Xk2Lm9Np2Qr7St4Uv8Wx1Yz5Ab0Cd6EfGh3Ij8Kl1Mn6Op0Qr"
    assert scrub(f"curl -X POST {real}").text == "curl -X POST [REDACTED:discord_webhook]"
    fake = "https://discord.com/api/webhooks/123456789012345678/your-webhook-token-here-xxxxxxxxxxxxxxxxxxxxxxxxxx"
    assert scrub(fake).findings == ()


def test_the_aws_documentation_key_is_redacted_a_known_false_positive():
    """AWS's own example key is kept as a finding: the rule has no way to tell it from a real one."""
    assert scrub("aws_access_key_id = AKIAIOSFODNN7EXAMPLE").text == "aws_access_key_id = [REDACTED:aws_access_key]"
