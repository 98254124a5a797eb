"""The runs list's "Compare selected" button opens the compare page with the ticked runs (real Chromium)."""

import pytest

from tests.browser import academy_base_url, needs_chromium, signed_in_page

pytestmark = needs_chromium
PASSWORD = "compare-test-password-1"

TWO_FINISHED_RUNS = """
from curation.models import DatasetSnapshot
from training.models import MetricPoint, TrainingRun
snapshot = DatasetSnapshot.objects.get()
for rank in (4, 8):
    run = TrainingRun.objects.create(dataset=snapshot, base_model="org/model", status="succeeded", progress=1.0,
                                     hyperparameters={"lora_rank": rank, "learning_rate": 0.0002})
    MetricPoint.objects.bulk_create([MetricPoint(run=run, step=s, loss=2.0 / s, ts=float(s)) for s in (1, 2, 3)])
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from academy_base_url(tmp_path_factory, "compare-browser", PASSWORD, setup=TWO_FINISHED_RUNS)


def test_compare_selected_opens_the_compare_page_with_the_ticked_runs(server):
    with signed_in_page(server, "olga", PASSWORD) as page:
        page.goto("/training/")
        boxes = page.locator(".compare-pick")
        assert boxes.count() == 2, page.inner_text("main")[:1500]
        ids = [boxes.nth(i).get_attribute("value") for i in range(2)]
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.click("#compare-button")
        page.wait_for_url("**/training/compare/**")

        assert "runs=" in page.url
        headers = page.locator("#hyperparameters thead th a").all_inner_texts()
        assert sorted(headers) == sorted(f"#{run_id}" for run_id in ids)
        assert page.locator(".error").count() == 0
        # Both runs' curves are drawn.
        page.wait_for_function("() => (document.getElementById('compare-chart').data || []).length >= 2")
