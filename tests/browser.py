"""Shared pieces of the Chromium tests: Debian's browser, how it is started, and signing in through the login form.

Each browser test module marks itself with `needs_chromium` and opens its page with `signed_in_page(...)`
(or `new_page(...)` then `sign_in`, or `launch(playwright)` for a browser of its own); the server it talks
to is a tests.academy_server.AcademyServer (`academy_base_url` starts one for a module) or pytest-django's
live_server with a session cookie (`signed_in_context`).
"""

from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
LAUNCH_ARGS = ("--no-sandbox", "--disable-gpu")


def launch(playwright, *extra_args: str):
    """Debian's Chromium, headless, as every browser test starts it (extra command-line flags appended)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*LAUNCH_ARGS, *extra_args])


def academy_base_url(tmp_path_factory, name: str, password: str, username: str = "olga", **options):
    """For a module's `server` fixture (`yield from academy_base_url(...)`): a tests.academy_server.AcademyServer on
    a fresh data folder `name` with `username` (olga, an admin) and `options` (setup, env, ...); yields its base URL."""
    from tests.academy_server import AcademyServer

    with AcademyServer(tmp_path_factory.mktemp(name), username=username, password=password, **options) as running:
        yield running.base


def sign_in(page, username: str, password: str) -> None:
    """Sign in through the login page and wait until it has sent the browser on."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@contextmanager
def new_page(base_url: str, **context_options):
    """A page on `base_url` in a fresh headless Chromium (`context_options`: viewport, ...); closed after the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser.new_context(base_url=base_url, **context_options).new_page()
        finally:
            browser.close()


@contextmanager
def signed_in_page(base_url: str, username: str, password: str, **context_options):
    """new_page(), signed in through the login form as `username`."""
    with new_page(base_url, **context_options) as page:
        sign_in(page, username, password)
        yield page


def signed_in_context(browser, base_url: str, client, user, **options):
    """A browser context on pytest-django's live server, signed in as `user` with the test client's session."""
    from django.conf import settings

    client.force_login(user)
    context = browser.new_context(base_url=base_url, **options)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": base_url,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    return context
