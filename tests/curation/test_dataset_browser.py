"""The snapshot page's Plotly charts, drawn by a real headless Chromium against the live server."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings

from curation.services.datasets import run_build, start_build
from tests.curation.factories import make_commit_example, make_lesson

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
              pytest.mark.django_db(transaction=True)]


def test_the_snapshot_page_draws_its_charts_from_the_local_plotly(live_server, viewer, client, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    make_lesson()
    make_lesson()
    make_commit_example()
    snapshot = run_build(start_build(None, name="charts", format="alpaca", queue=False).pk).snapshot
    client.force_login(viewer)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    errors, outside = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(base_url=live_server.url)
        context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: None if req.url.startswith(live_server.url) else outside.append(req.url))
        page.goto(f"/datasets/{snapshot.sha256}/")
        page.wait_for_selector("#chart-sources .main-svg")
        page.wait_for_selector("#chart-tokens .main-svg")
        bars = page.locator("#chart-sources .point").count()
        browser.close()
    assert errors == [] and outside == []
    assert bars >= 2  # lessons and commits, at least one split each
