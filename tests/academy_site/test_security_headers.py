"""Deployment headers: a strict Content-Security-Policy everywhere, HSTS and secure cookies from the environment."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.training.factories import make_snapshot
from training import services as training_services
from training.models import MetricPoint

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PAGES = ["overview", "lesson_list", "repository_list", "dataset_list", "run_list", "line_list", "api_tokens",
         "admin:index"]


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_every_response_carries_a_strict_policy(client):
    directives = policy(client.get(reverse("login")))
    assert directives["default-src"] == ["'self'"] and directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["base-uri"] == ["'self'"]
    script = directives["script-src"]
    assert script[0] == "'self'" and all(s.startswith("'nonce-") for s in script[1:])
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and "*" not in " ".join(script)


@pytest.mark.parametrize("page", PAGES)
def test_inline_scripts_carry_the_responses_nonce_and_no_handler_attributes_exist(client, alice, bob, page):
    run = training_services.start_run(bob, dataset=make_snapshot(), base_model="HuggingFaceTB/SmolLM2-135M-Instruct")
    MetricPoint.objects.create(run=run, step=1, loss=1.0, ts=0)  # the Overview then draws its loss chart inline
    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    response = client.get(reverse(page))
    assert response.status_code == 200
    # django-csp adds a nonce to the header only when the page used one.
    nonces = [s[len("'nonce-"):-1] for s in policy(response)["script-src"] if s.startswith("'nonce-")]
    nonce = nonces[0] if nonces else "(none in the policy)"
    html = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        if "src=" not in tag and 'type="application/json"' not in tag:
            assert f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "inline event handler attribute"
    assert "javascript:" not in html


def settings_of(env_extra: dict, tmp_path) -> list[str]:
    code = ("from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ACADEMY_DATA_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "academy_site.settings", "PYTHONPATH": str(ROOT), "SECRET_KEY": "k",
           **env_extra}
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(maxsplit=3)


def test_with_debug_off_hsts_is_on_and_https_settings_come_from_the_environment(tmp_path):
    assert settings_of({}, tmp_path) == ["31536000", "False", "False", "None False"]
    behind_proxy = settings_of({"SESSION_COOKIE_SECURE": "true", "TRUSTED_PROXY_COUNT": "1",
                                "SECURE_SSL_REDIRECT": "true", "SECURE_HSTS_SECONDS": "600"}, tmp_path)
    assert behind_proxy == ["600", "True", "True", "('HTTP_X_FORWARDED_PROTO', 'https') True"]


def test_https_responses_carry_hsts(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get(reverse("login"))
