"""The snapshot page's Plotly charts, drawn by a real headless Chromium against the live server."""

import pytest

from curation.services.datasets import run_build, start_build
from tests.browser import launch, needs_chromium, signed_in_context
from tests.curation.factories import make_commit_example, make_lesson

pytestmark = [needs_chromium,
              pytest.mark.django_db(transaction=True)]


def test_the_snapshot_page_draws_its_charts_from_the_local_plotly(live_server, viewer, client, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    make_lesson()
    make_lesson()
    make_commit_example()
    snapshot = run_build(start_build(None, name="charts", format="alpaca", queue=False).pk).snapshot
    errors, outside = [], []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = signed_in_context(browser, live_server.url, client, viewer).new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: None if req.url.startswith(live_server.url) else outside.append(req.url))
        page.goto(f"/datasets/{snapshot.sha256}/")
        page.wait_for_selector("#chart-sources .main-svg")
        page.wait_for_selector("#chart-tokens .main-svg")
        bars = page.locator("#chart-sources .point").count()
        browser.close()
    assert errors == [] and outside == []
    assert bars >= 2  # lessons and commits, at least one split each
