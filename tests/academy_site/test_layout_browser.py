"""Every main page at 1400 px and at 800 px wide, in Debian's Chromium: nothing wider than the window.

The server starts as `make run` does on an empty data folder (the demo workspace), plus a
dataset snapshot and two finished runs written straight into the database (one with a
single train point). Each page is loaded at both widths; the page must not scroll sideways
(document.documentElement.scrollWidth <= innerWidth) and every top-bar link must sit inside
the window. A full-page screenshot of each lands in ACADEMY_LAYOUT_SCREENSHOTS (default
var/layout-screenshots), to be looked at.
"""

import os
from pathlib import Path

import pytest

from tests.academy_server import ROOT, SEED_SNAPSHOT, AcademyServer
from tests.browser import launch, needs_chromium, sign_in

PASSWORD = "layout-at-two-widths-7"
SCREENSHOTS = Path(os.environ.get("ACADEMY_LAYOUT_SCREENSHOTS") or ROOT / "var" / "layout-screenshots")
WIDTHS = (1400, 800)

pytestmark = [needs_chromium,
              pytest.mark.timeout(900)]

# Two finished runs on the seeded snapshot: one with a curve and a log, one with a single train point.
SEED_RUNS = SEED_SNAPSHOT + """
import time
from django.utils import timezone
from training.models import MetricPoint, RunLogLine, TrainingRun
snapshot = DatasetSnapshot.objects.get(name="seed")
now, base = timezone.now(), str(settings.DATA_DIR / "models" / "tiny-llama-toy")
metrics = {"steps": 40, "best_step": 32, "eval_loss": 5.31, "last_eval_loss": 5.36, "stopped_early": False}
run = TrainingRun.objects.create(dataset=snapshot, base_model=base, status="succeeded", total_steps=40,
                                 current_step=40, progress=1.0, started_at=now, finished_at=now,
                                 final_metrics=metrics, run_dir="runs/1",
                                 hyperparameters={"learning_rate": 0.003, "num_epochs": 2, "batch_size": 4})
for step in range(1, 41):
    MetricPoint.objects.create(run=run, step=step, epoch=step / 20, loss=6.9 - step * 0.03, learning_rate=3e-3,
                               ts=time.time())
    if step % 8 == 0:
        MetricPoint.objects.create(run=run, kind="eval", step=step, loss=6.8 - step * 0.03, ts=time.time())
    RunLogLine.objects.create(run=run, seq=step, ts=time.time(),
                              text=f"step {step}/40 · epoch {step / 20:.2f} · loss {6.9 - step * 0.03:.4f}")
lone = TrainingRun.objects.create(dataset=snapshot, base_model=base, status="succeeded", total_steps=1,
                                  current_step=1, progress=1.0, started_at=now, finished_at=now, run_dir="runs/2",
                                  final_metrics={"steps": 1})
MetricPoint.objects.create(run=lone, step=1, epoch=1.0, loss=6.9, learning_rate=3e-3, ts=time.time())
"""

PAGES = {
    "overview": "/",
    "lessons": "/lessons/",
    "git": "/git/",
    "datasets": "/datasets/",
    "training": "/training/",
    "start-run": "/training/runs/new/",
    "run": "/training/runs/1/",
    "compare": "/training/compare/?runs=1,2",
    "models": "/models/",
    "line": "/models/default/",
    "arena": "/arena/",
    "exam": "/arena/default/exam/",
    "repository": "/git/1/",
    "professor": "/professor/",
    "api-tokens": "/accounts/tokens/",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("playwright")
    with AcademyServer(tmp_path_factory.mktemp("layout"), username="admin", password=PASSWORD, demo=True,
                       setup=SEED_RUNS, start_timeout=120,
                       env={"SEED_DEMO_REAL_MODEL": "false"}) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def _page(browser, server, width: int):
    context = browser.new_context(base_url=server.base, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, "admin", PASSWORD)
    return context, page


OVERFLOW = """() => {
    const width = window.innerWidth;
    const wide = [];
    for (const node of document.querySelectorAll("body *")) {
        const box = node.getBoundingClientRect();
        if (box.width && box.right > width + 1 && !node.closest("pre, .js-plotly-plot, [data-scrolls]")) {
            wide.push(`${node.tagName.toLowerCase()}#${node.id}.${node.className} right=${Math.round(box.right)}`);
        }
    }
    return {scroll: document.documentElement.scrollWidth, width: width, wide: wide.slice(0, 5),
            nav: Array.from(document.querySelectorAll(".topbar a, .topbar button"))
                .filter((a) => a.getBoundingClientRect().right > width).map((a) => a.textContent.trim())};
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_no_main_page_is_wider_than_the_window(browser, server, width):
    context, page = _page(browser, server, width)
    problems = []
    for name, path in PAGES.items():
        page.goto(path)
        page.wait_for_load_state("networkidle")
        found = page.evaluate(OVERFLOW)
        page.screenshot(path=str(SCREENSHOTS / f"{width}-{name}.png"), full_page=True)
        if found["scroll"] > found["width"] or found["nav"]:
            problems.append(f"{path} at {width} px: scrolls to {found['scroll']} px; top-bar links outside the "
                            f"window: {found['nav']}; widest: {found['wide']}")
    context.close()
    assert not problems, "\n".join(problems)


def _assert_drawn_as_markers(page, chart: str) -> None:
    """The chart's first trace is drawn as markers, and Plotly drew one (a line through one point draws nothing)."""
    assert page.evaluate(f"() => document.getElementById('{chart}').data[0].mode") == "markers"
    assert page.locator(f"#{chart} .scatterlayer .trace .points path").count() >= 1


def test_a_lone_train_point_is_drawn(browser, server):
    context, page = _page(browser, server, 1400)
    page.goto("/training/runs/2/")
    page.wait_for_function("() => (document.getElementById('loss-chart').data || [])[0]?.x.length === 1")
    _assert_drawn_as_markers(page, "loss-chart")
    context.close()


def test_the_run_page_tells_how_the_run_ended_and_keeps_its_log(browser, server):
    context, page = _page(browser, server, 1400)
    page.goto("/training/runs/1/")
    assert page.inner_text("#run-outcome") == ("Finished: trained all 40 steps; the adapter kept is from step 32, "
                                               "where the eval loss was lowest (5.3100; 5.3600 at step 40).")
    page.wait_for_function("() => document.getElementById('log-tail').textContent.includes('step 40/40')")
    context.close()


def test_the_start_form_explains_each_value_once_and_marks_what_a_person_changed(browser, server):
    context, page = _page(browser, server, 1400)
    page.goto("/training/runs/new/")
    # The embedded worker's row stays inside the narrow column beside the form.
    table, card = page.locator("#run-workers table").bounding_box(), page.locator("#run-workers").bounding_box()
    assert page.locator("#run-workers tbody tr").count() >= 1
    assert table["x"] + table["width"] <= card["x"] + card["width"]
    page.check('input[name="preset"][value="quick"]')
    why = page.inner_text("#run-why-list")
    assert why.count("the toy base model: these settings make its loss fall visibly") == 1
    assert "the Quick try preset" in why and "the dataset's size" in why
    page.fill('input[name="seed"]', "7")
    page.wait_for_function("() => document.getElementById('run-why-list').textContent.includes('set by you')")
    assert "seed 7: set by you (the Quick try preset had 42)" in page.inner_text("#run-why-list")
    # A bad value: the summary at the top names it, next to the presets.
    page.fill('input[name="lora_rank"]', "0")
    page.click("button:has-text('Start run')")
    page.wait_for_selector("#run-form-errors")
    assert "lora_rank" in page.inner_text("#run-form-errors")
    box = page.locator("#run-form-errors").bounding_box()
    assert box["y"] < 400  # at the top, not 1,800 px down
    context.close()


def test_the_overview_draws_the_last_runs_lone_point_names_base_models_and_leaves_no_blank(browser, server):
    context, page = _page(browser, server, 1400)
    page.goto("/")
    page.wait_for_function("() => (document.getElementById('overview-loss-chart').data || []).length > 0")
    _assert_drawn_as_markers(page, "overview-loss-chart")
    assert "toy model (offline)" in page.inner_text("#overview-runs") and "/" not in page.inner_text(
        "#overview-runs td.muted")
    # The chart's card ends under the chart (no blank area the height of another chart).
    chart, card = page.locator("#overview-loss-chart").bounding_box(), page.locator("#overview-last-run").bounding_box()
    assert card["y"] + card["height"] - (chart["y"] + chart["height"]) < 60
    context.close()
