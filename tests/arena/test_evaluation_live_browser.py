"""The evaluation page turns from running to its verdict without a reload (real server, toy model, Chromium).

A real tiny evaluation on the toy model: it is recorded as queued but its message is lost (made in
`manage.py shell`, whose in-memory broker dies with it), so the server's sweep sends it only after
the page is open; the embedded worker runs it, and the page swaps the verdict in over the job's socket.
"""

import pytest

from tests.browser import academy_base_url, needs_chromium, new_page, sign_in

pytestmark = [needs_chromium,
              pytest.mark.timeout(600)]
PASSWORD = "evaluation-live-password-1"

QUEUED_EVALUATION = """
import shutil
from datetime import timedelta
from django.conf import settings
from django.utils import timezone
from arena.models import Evaluation
from models_registry.models import ModelLine, ModelVersion
from tests.arena.factories import make_exam, make_line_on_toy, register_trained
line = make_line_on_toy()
exam = make_exam(line)
candidate = register_trained(line.name, "domain")
# The toy base was built in this shell's scratch folder, removed when it exits: keep a copy for the server.
kept = settings.DATA_DIR / "models" / "tiny-llama-toy"
shutil.copytree(line.base_model, kept)
ModelLine.objects.filter(pk=line.pk).update(base_model=str(kept))
ModelVersion.objects.filter(pk=candidate.pk).update(base_model=str(kept))
# Last "sent" in the near future: the sweep picks it up only after the page below is open.
Evaluation.objects.create(line=line, candidate=candidate, exam=exam,
                          heartbeat_at=timezone.now() + timedelta(seconds=10))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("peft", reason="the evaluation needs the train extra (torch, transformers, peft)")
    yield from academy_base_url(tmp_path_factory, "evaluation-live", PASSWORD, setup=QUEUED_EVALUATION,
                                start_timeout=120,
                                env={"JOBS_REAP_EVERY_SECONDS": "1", "JOBS_REQUEUE_AFTER_SECONDS": "5",
                                     "ARENA_MAX_NEW_TOKENS": "12", "ARENA_BATCH_SIZE": "4",
                                     "ARENA_BOOTSTRAP_SAMPLES": "500"})


def test_the_evaluation_page_shows_the_verdict_when_the_job_succeeds_without_a_reload(server):
    with new_page(server) as page:
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, "olga", PASSWORD)

        page.goto("/arena/evaluations/1/")
        first = page.inner_text('[data-job-field="status"]').strip()
        assert page.locator("#arena-results .arena-reasons").count() == 0
        page.evaluate("() => { window.sameDocument = true; }")
        page.wait_for_function("() => ['succeeded', 'failed', 'lost', 'cancelled'].includes("
                               "document.querySelector('.job-live').dataset.status)", timeout=300_000)
        assert page.inner_text('[data-job-field="status"]').strip() == "Succeeded", page.inner_text(".job-live")
        page.wait_for_selector("#arena-results .arena-reasons")
        assert first == "Queued"
        assert page.evaluate("() => window.sameDocument") is True  # no reload: it came over the socket
        results = page.inner_text("#arena-results")
        assert "Verdict" in results and "Each question" in results and "Reload" not in page.content()
        page.wait_for_selector("#arena-results [data-arena-chart][data-drawn]")  # the chart drew after the swap
        assert errors == []
