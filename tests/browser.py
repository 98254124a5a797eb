"""Shared pieces of the Chromium tests: Debian's browser and signing in through the login form."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def sign_in(page, username: str, password: str) -> None:
    """Sign in through the login page and wait until it has sent the browser on."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
