"""The whole learning loop through the UI only, in Debian's Chromium, against a fresh `make run`-style server.

A server starts on an empty data folder the way the Quick start's `make run` does (migrate,
the admin, the demo workspace, serve). The test then logs in, reviews lessons, builds a
dataset, trains two adapters while watching the loss curve grow, evaluates and promotes
them through the confirmation page, asks the endpoint with the official openai client and
rolls back. A screenshot of each step lands in ACADEMY_E2E_SCREENSHOTS (default
var/e2e-screenshots, named in the README).
"""

import os
import re
from pathlib import Path

import pytest

from tests.academy_server import ROOT, AcademyServer
from tests.browser import needs_chromium, new_page, sign_in

PASSWORD = "journey-through-the-loop-42"
SCREENSHOTS = Path(os.environ.get("ACADEMY_E2E_SCREENSHOTS") or ROOT / "var" / "e2e-screenshots")
LONG = 300_000  # ms: a training run or an evaluation on the toy model on a busy CPU
EVALUATED = 600_000  # ms: an evaluation of two toy versions on the exam when other work shares the CPU
REGISTERED = 60_000  # ms: the registry's after-commit hook registering a succeeded run's version on a busy CPU

pytestmark = [needs_chromium, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("peft", reason="training needs the train extra (torch, transformers, peft)")
    data = tmp_path_factory.mktemp("journey")
    # The embedded worker runs builds, trainings and evaluations in the server process, as `make run` does.
    with AcademyServer(data, username="admin", password=PASSWORD, demo=True, start_timeout=120,
                       env={"SERVING_ACTIVE_TTL": "0", "SEED_DEMO_REAL_MODEL": "false"}) as running:
        yield running


@pytest.fixture(scope="module")
def browser_page(server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    with new_page(server.base, viewport={"width": 1280, "height": 900}) as page:
        page.set_default_timeout(30_000)
        yield page


class Steps:
    def __init__(self, page):
        self.page, self.saved = page, []

    def shot(self, name: str) -> None:
        path = SCREENSHOTS / f"{len(self.saved) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.saved.append(path)


def _train(page, snapshot_url: str, steps: Steps, name: str, *, seed: int) -> str:
    """Start a quick run from the snapshot page, watch its curve grow, return the version page's URL."""
    page.goto(snapshot_url)
    page.click("#train-on-this")
    # The recommended first run as it comes: the Quick try preset, fitted to the toy model and this dataset.
    page.check('input[name="preset"][value="quick"]')
    assert "the toy base model" in page.inner_text("#run-why-list")
    page.fill('input[name="seed"]', str(seed))  # two different adapters
    assert "Estimate: about" in page.inner_text("#run-estimate")
    steps.shot(f"{name}-start-form")
    page.click("button:has-text('Start run')")
    page.wait_for_url(re.compile(r"/training/runs/\d+/$"), timeout=LONG)
    page.wait_for_function("() => /[1-9]\\d* (train|eval) points/.test("
                           "document.getElementById('points-count').textContent)", timeout=LONG)
    first = page.inner_text("#points-count")
    assert "succeeded" not in page.get_attribute("#run-status", "class")
    # New points arrive over the websocket while we watch: no reload.
    page.wait_for_function("(first) => document.getElementById('points-count').textContent !== first",
                           arg=first, timeout=LONG)
    steps.shot(f"{name}-loss-growing")
    page.wait_for_selector("#run-status.succeeded", timeout=LONG)
    # A curve to read, and a falling one: enough train points, and the eval loss ends below where it began.
    train = page.evaluate("() => document.getElementById('loss-chart').data[0].x.length")
    evals = page.evaluate("() => Array.from(document.getElementById('loss-chart').data[2].y)")
    assert train >= 10 and len(evals) >= 3 and evals[-1] < evals[0], (train, evals)
    assert "step 1/" in page.inner_text("#log-tail")  # the trainer's own loss lines
    # The version the registry makes of the run appears without a reload, with how the run ended.
    link = page.wait_for_selector("#run-version a", timeout=REGISTERED)
    assert page.inner_text("#run-outcome").startswith("Finished: ")
    steps.shot(f"{name}-finished")
    link.click()
    page.wait_for_url(re.compile(r"/models/[\w-]+/v\d+/$"))
    return page.url


def _evaluate(page, steps: Steps, name: str) -> str:
    page.click("#arena button:has-text('Evaluate')")
    page.wait_for_url(re.compile(r"/arena/evaluations/\d+/$"))
    url = page.url
    # The verdict swaps in over the evaluation's socket when it finishes: no reload.
    page.wait_for_selector("#arena-results .arena-reasons", timeout=EVALUATED)
    assert "Reload" not in page.inner_text("main")
    steps.shot(f"{name}-evaluated")
    return url


def _promote(page, version_url: str, steps: Steps, name: str, reason: str) -> None:
    page.goto(version_url)
    page.click("a[href$='/promote/'] button")
    page.fill("textarea[name='reason']", reason)
    steps.shot(f"{name}-promote-confirmation")
    page.click("button:has-text('Yes, promote')")
    page.wait_for_url(re.compile(r"/models/[\w-]+/$"))


def test_the_whole_loop_through_the_ui(server, browser_page):
    import openai

    page, steps = browser_page, Steps(browser_page)

    # 1. Log in: the overview comes next.
    sign_in(page, "admin", PASSWORD)
    page.wait_for_selector("#loop-checklist")
    steps.shot("overview-checklist")

    # 2. Approve and reject lessons in the queue (keys a and r).
    page.goto("/lessons/")
    for key in ["a"] * 24 + ["r", "r"]:
        before = page.inner_text("article.review-record:not([hidden]) strong")
        page.keyboard.press(key)
        page.wait_for_function("(before) => document.querySelector('article.review-record:not([hidden]) strong')"
                               "?.textContent !== before", arg=before)
    page.goto("/lessons/?source=lesson&status=approved")
    assert page.locator("li.review-item").count() >= 20
    steps.shot("review-queue")
    # The demo's own small repository was cloned into the workspace and mined: commit examples to review.
    page.goto("/git/")
    mined = re.search(r"academy-demo-repository.*?Succeeded\s+(\d+)", page.inner_text("main"), re.S)
    assert mined and int(mined[1]) >= 8, page.inner_text("main")

    # 3. Build a dataset and see its funnel.
    page.goto("/datasets/new/")
    page.fill("input[name='name']", "journey")
    page.click("button:has-text('Start build')")
    snapshot = page.wait_for_selector("#build-snapshot[href*='/datasets/']", state="visible", timeout=LONG)
    page.reload()
    assert "mix after this stage" in page.inner_text("#build-funnel")
    steps.shot("dataset-funnel")
    snapshot_url = page.get_attribute("#build-snapshot", "href") or snapshot.get_attribute("href")

    # 4. Train v1 and see its loss curve grow live; it becomes the first active version.
    v1 = _train(page, server.base + snapshot_url, steps, "v1", seed=1)
    _promote(page, v1, steps, "v1", "the first adapter")
    assert re.search(r"v1\s*★ active", page.inner_text(".genealogy-scroll"))
    # 5-7. A second adapter: evaluated against v1 in the Arena, promoted through the confirmation page.
    v2 = _train(page, server.base + snapshot_url, steps, "v2", seed=2)
    evaluation = _evaluate(page, steps, "v2")
    _promote(page, v2, steps, "v2", "evaluated against v1 in the Arena")
    assert re.search(r"v2\s*★ active", page.inner_text(".genealogy-scroll"))
    page.goto("/")
    active = page.inner_text("#overview-active-versions")
    assert "v2" in active
    steps.shot("overview-active-version")

    # 8. Ask the endpoint with the openai client and get an answer from the new version.
    page.goto("/accounts/tokens/")
    page.fill("input[name='name']", "agent")
    page.select_option("select[name='role']", "Viewer")
    page.click("button:has-text('Create token')")
    token = page.inner_text("#raw-token").strip()
    line = re.search(r"/models/([\w-]+)/", v2)[1]
    ai = openai.OpenAI(base_url=server.base + "/v1", api_key=token, max_retries=0, timeout=120)
    answer = ai.chat.completions.create(model=line, messages=[{"role": "user", "content": "What is a lesson?"}],
                                        max_tokens=12)
    assert answer.system_fingerprint == f"{line}:v2" and isinstance(answer.choices[0].message.content, str)
    steps.shot("token-for-the-agent")

    # 9. Roll back and see the history.
    page.goto(f"/models/{line}/rollback/")
    page.select_option("select[name='to']", "v1")
    page.fill("textarea[name='reason']", "the agent preferred v1")
    steps.shot("rollback-confirmation")
    page.click("button:has-text('Yes, roll back')")
    page.wait_for_url(re.compile(rf"/models/{line}/$"))
    history = page.inner_text(".timeline")
    assert "the agent preferred v1" in history
    assert re.search(r"v1\s*★ active", page.inner_text(".genealogy-scroll"))
    assert ai.chat.completions.create(model=line, messages=[{"role": "user", "content": "hi"}],
                                      max_tokens=4).system_fingerprint == f"{line}:v1"
    steps.shot("rolled-back-history")
    assert all(path.stat().st_size > 0 for path in steps.saved) and len(steps.saved) >= 9

    # 10. The pages only versions fill, at 1400 and 800 px wide: none is wider than the window.
    for width in (1400, 800):
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in (("line", f"/models/{line}/"), ("version", v2), ("evaluation", evaluation),
                          ("arena", "/arena/"), ("overview", "/")):
            page.goto(url)
            page.wait_for_load_state("networkidle")
            scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            page.screenshot(path=str(SCREENSHOTS / f"width-{width}-{name}.png"), full_page=True)
            assert scroll <= inner, f"{url} at {width} px scrolls sideways to {scroll} px"
