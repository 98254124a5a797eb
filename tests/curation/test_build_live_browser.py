"""A dataset build's page follows it live (real server, embedded worker, real Chromium).

The build is recorded as queued but never sent to the broker, as if its message was lost:
the reaper's sweep (beat, every second here) sends it again, the embedded worker builds it,
and the open page turns from Queued to Succeeded over its websocket, without a reload.
"""

import pytest

from tests.browser import academy_base_url, needs_chromium, signed_in_page

pytestmark = needs_chromium
PASSWORD = "build-live-password-1"

QUEUED_BUILD_WITHOUT_A_MESSAGE = """
from datetime import timedelta
from django.utils import timezone
from curation.models import DatasetBuild
from curation.pipeline.config import build_config
from tests.curation.factories import make_lesson
for _ in range(3):
    make_lesson()
config = build_config({"format": "alpaca", "sources": ["lessons"]})
# Last "sent" in the near future: the sweep picks it up only after the page below is open.
DatasetBuild.objects.create(name="lost message", format="alpaca", config=config,
                            heartbeat_at=timezone.now() + timedelta(seconds=15))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from academy_base_url(tmp_path_factory, "build-live", PASSWORD, setup=QUEUED_BUILD_WITHOUT_A_MESSAGE,
                                env={"JOBS_REAP_EVERY_SECONDS": "1", "JOBS_REQUEUE_AFTER_SECONDS": "5"})


def test_a_queued_build_whose_message_was_lost_is_swept_and_its_page_turns_succeeded_live(server):
    with signed_in_page(server, "olga", PASSWORD) as page:
        page.goto("/datasets/builds/1/")
        first = page.inner_text('[data-job-field="status"]').strip()
        page.evaluate("() => { window.sameDocument = true; }")
        page.wait_for_function(
            "() => document.querySelector('[data-job-field=\"status\"]').textContent.trim() === 'Succeeded'",
            timeout=90_000)
        assert first == "Queued"
        assert page.evaluate("() => window.sameDocument") is True  # no reload: it came over the socket
        assert page.locator("#build-snapshot").is_visible()
        assert page.locator("#build-funnel table").count() == 1
