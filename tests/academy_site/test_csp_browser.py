"""The Content-Security-Policy breaks nothing: a real Chromium reports no violation on the pages,
with Plotly charts drawn and live sockets connected."""

import re
from pathlib import Path

import pytest

from tests.academy_server import AcademyServer
from tests.browser import launch, needs_chromium, sign_in

pytestmark = needs_chromium
PASSWORD = "csp-browser-password-1"
PAGES = ["overview", "run_list", "lesson_list", "repository_list", "dataset_list", "line_list", "api_tokens"]
EXTRA_PATHS = ["/training/runs/new/", "/professor/", "/arena/", "/admin/", "/admin/auth/user/"]


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    env = {"TRAINING_TRAINER_MODULE": "tests.training.fake_live_trainer", "FAKE_TRAINER_STEP_SECONDS": "0.05",
           "TRAINING_INGEST_FLUSH_SECONDS": "0.1"}
    with AcademyServer(Path(__import__("tempfile").mkdtemp(prefix="csp-browser-")), username="olga",
                       password=PASSWORD, env=env) as server, sync_playwright() as playwright:
        browser = launch(playwright, "--disable-background-networking", "--no-first-run")
        context = browser.new_context(base_url=server.base)
        page = context.new_page()
        page.violations = []
        page.on("console", lambda msg: page.violations.append(msg.text)
                if "Content Security Policy" in msg.text else None)
        sign_in(page, "olga", PASSWORD)
        yield page
        browser.close()


def test_no_page_reports_a_policy_violation(page):
    from django.urls import reverse

    for path in [reverse(name) for name in PAGES] + EXTRA_PATHS:
        response = page.goto(path)
        assert response.status < 400, path
        page.wait_for_load_state("networkidle")
    assert page.violations == []


def test_a_run_page_draws_its_plotly_chart_and_gets_live_points_under_the_policy(page):
    page.goto("/training/runs/new/")
    page.fill("input[name=base_model]", "academy-test/fake-tiny")
    page.fill("input[name=num_epochs]", "1")
    if not page.input_value("input[name=target_modules]"):
        page.fill("input[name=target_modules]", "all-linear")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert re.search(r"/training/runs/\d+/$", page.url), page.url
    page.wait_for_function("() => (document.getElementById('loss-chart').data || []).some(t => t.x.length > 0)",
                           timeout=60_000)
    page.goto("/")
    page.wait_for_load_state("networkidle")
    assert page.violations == []
