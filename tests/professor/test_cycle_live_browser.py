"""The Professor page follows the running cycle's step live (real server, embedded worker, real Chromium).

A running cycle has journalled the dataset build it started; the build is queued but its message was
never sent, so the reaper's sweep (every second here) sends it after the page is open, the embedded
worker builds it, and the page's step panel and the step's label turn from Queued to Done over the
cycle's socket, without a reload.
"""

import pytest

from tests.academy_server import AcademyServer
from tests.browser import launch, needs_chromium, sign_in

pytestmark = needs_chromium
PASSWORD = "cycle-live-password-1"

RUNNING_CYCLE_WITH_A_QUEUED_BUILD = """
from datetime import timedelta
from django.utils import timezone
from curation.models import DatasetBuild
from curation.pipeline.config import build_config
from professor import journal
from professor.models import Cycle
from tests.curation.factories import make_lesson
for _ in range(3):
    make_lesson()
now = timezone.now()
cycle = Cycle.objects.create(status="running", started_at=now, heartbeat_at=now + timedelta(minutes=5))
build = DatasetBuild.objects.create(name=f"professor-cycle-{cycle.pk}", format="alpaca",
                                    config=build_config({"format": "alpaca", "sources": ["lessons"]}),
                                    heartbeat_at=now + timedelta(seconds=12))
journal.write(cycle.pk, "dataset", "started", f"building dataset (build {build.pk})", job=build)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with AcademyServer(tmp_path_factory.mktemp("cycle-live"), username="olga", password=PASSWORD,
                       setup=RUNNING_CYCLE_WITH_A_QUEUED_BUILD,
                       env={"JOBS_REAP_EVERY_SECONDS": "1", "JOBS_REQUEUE_AFTER_SECONDS": "5"}) as running:
        yield running.base


def test_the_professor_page_shows_the_steps_job_turning_done_live(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_context(base_url=server).new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            sign_in(page, "olga", PASSWORD)

            page.goto("/professor/")
            state = '[data-step-field="state"]'
            first = page.inner_text(state).strip()
            badge = page.inner_text("[data-job-badge]").strip()
            page.evaluate("() => { window.sameDocument = true; }")
            page.wait_for_function(f"() => document.querySelector('{state}').textContent.trim() === 'Done'",
                                   timeout=90_000)
            assert (first, badge) == ("Queued", "Dataset · Queued")
            assert page.inner_text("[data-job-badge]").strip() == "Dataset · Done"
            assert page.inner_text('[data-step-field="percent"]').strip() == "100 %"
            assert page.get_attribute('[data-step-field="link"]', "href") == "/datasets/builds/1/"
            assert page.evaluate("() => window.sameDocument") is True  # no reload: it came over the socket
            assert errors == []
        finally:
            browser.close()
