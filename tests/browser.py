"""Shared pieces of the Chromium tests: Debian's browser, how it is started, and signing in through the login form.

Each browser test module marks itself with `needs_chromium`, starts the browser with `launch(playwright)`
and signs in with `sign_in`; the server it talks to is a tests.academy_server.AcademyServer (or
pytest-django's live_server with a session cookie).
"""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
LAUNCH_ARGS = ("--no-sandbox", "--disable-gpu")


def launch(playwright, *extra_args: str):
    """Debian's Chromium, headless, as every browser test starts it (extra command-line flags appended)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*LAUNCH_ARGS, *extra_args])


def sign_in(page, username: str, password: str) -> None:
    """Sign in through the login page and wait until it has sent the browser on."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def signed_in_context(browser, base_url: str, client, user, **options):
    """A browser context on pytest-django's live server, signed in as `user` with the test client's session."""
    from django.conf import settings

    client.force_login(user)
    context = browser.new_context(base_url=base_url, **options)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": base_url,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    return context
