"""The run page in a real headless Chromium against a real server with the embedded worker.

The server runs `manage.py serve` in a subprocess (SQLite and the data root in a tmp
folder); runs are started from the UI and executed by the local backend running
FakeTrainer (tests/training/fake_live_trainer.py), which emits the protocol over time.
"""

import re

import pytest

from tests.academy_server import AcademyServer
from tests.browser import launch, needs_chromium, sign_in

pytestmark = needs_chromium
PASSWORD = "browser-test-password-1"
STEPS_PER_EPOCH = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with AcademyServer(tmp_path_factory.mktemp("live-browser"), username="olga", password=PASSWORD, env={
        "TRAINING_TRAINER_MODULE": "tests.training.fake_live_trainer", "FAKE_TRAINER_STEP_SECONDS": "0.1",
        "TRAINING_INGEST_FLUSH_SECONDS": "0.1", "TRAINING_CANCEL_POLL_SECONDS": "0.2",
        "TRAINING_CANCEL_GRACE_SECONDS": "2",
    }) as running:
        yield running.base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright, "--disable-background-networking", "--disable-component-update",
                          "--disable-sync", "--no-first-run")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    sign_in(page, "olga", PASSWORD)
    yield page
    context.close()


def _start_run(page, epochs: int) -> str:
    page.goto("/training/runs/new/")
    page.fill("input[name=base_model]", "academy-test/fake-tiny")
    page.fill("input[name=num_epochs]", str(epochs))
    if not page.input_value("input[name=target_modules]"):
        page.fill("input[name=target_modules]", "all-linear")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    if not re.search(r"/training/runs/\d+/$", page.url):
        pytest.fail("the run was not started: " + " | ".join(page.locator(".error, .msg").all_inner_texts()))
    return page.url


def _series(page, name: str) -> list[int]:
    return page.evaluate("""(name) => {
        const trace = (document.getElementById('loss-chart').data || []).find((t) => t.name === name);
        return trace ? Array.from(trace.x) : [];
    }""", name)


def _status(page) -> str:
    return page.inner_text("#run-status").strip().lower()


def test_run_page_draws_points_live_and_loses_nothing_across_reload_and_reconnect(page):
    total = 3 * STEPS_PER_EPOCH
    _start_run(page, epochs=3)
    page.wait_for_function("() => (document.getElementById('loss-chart').data || [])[0]?.x.length >= 5",
                           timeout=30_000)
    assert _status(page) == "running"
    assert 5 <= len(_series(page, "train loss")) < total  # points appear while the run goes on
    # The trainer's own output is in the log pane as it comes: its start and its loss lines.
    page.wait_for_function("() => /step \\d+\\/60 · epoch [\\d.]+ · loss /.test("
                           "document.getElementById('log-tail').textContent)", timeout=30_000)
    assert "start: 60 steps, on cpu (fake)" in page.inner_text("#log-tail")

    page.reload()
    page.wait_for_function("() => (document.getElementById('loss-chart').data || [])[0]?.x.length >= 15",
                           timeout=30_000)
    # ...and still there after a reload: they are stored, like the checkpoint notes.
    log = page.inner_text("#log-tail")
    assert "start: 60 steps, on cpu (fake)" in log and "step 1/60 · epoch 0.05 · loss" in log
    seen = _series(page, "train loss")
    assert seen == list(range(1, len(seen) + 1)) and len(seen) < total
    page.evaluate("() => window.academyLive.drop()")  # a dropped connection resumes from the last step
    page.wait_for_selector("#live-banner:not([hidden])", timeout=5_000)
    assert "Live updates paused" in page.inner_text("#live-banner")
    page.wait_for_function("() => document.getElementById('run-status').textContent.trim() === 'Succeeded'",
                           timeout=60_000)
    page.wait_for_selector("#live-banner", state="hidden", timeout=10_000)

    assert _series(page, "train loss") == list(range(1, total + 1))
    assert _series(page, "eval loss") == list(range(10, total + 1, 10))
    assert page.evaluate("() => document.getElementById('run-progress').value") == 1
    log = page.inner_text("#log-tail")
    assert "[fake] step 60 of 60" in log and "checkpoint saved at step 30" in log
    assert "done: trained all 60 steps" in log
    # The outcome and the version the registry made of the run appear without a reload.
    page.wait_for_selector("#run-outcome", timeout=30_000)
    assert "trained all 60 steps" in page.inner_text("#run-outcome")
    page.wait_for_selector("#run-version a", timeout=60_000)
    assert page.locator("#cancel-form").is_hidden()
    page.screenshot(path="/tmp/academy-run-page.png", full_page=True)


def test_cancel_button_stops_the_run(page):
    url = _start_run(page, epochs=50)
    page.wait_for_function("() => (document.getElementById('loss-chart').data || [])[0]?.x.length >= 3",
                           timeout=30_000)
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-button")
    page.wait_for_url(url)
    page.wait_for_function("() => document.getElementById('run-status').textContent.trim() === 'Cancelled'",
                           timeout=30_000)
    steps = _series(page, "train loss")
    assert steps == list(range(1, len(steps) + 1)) and len(steps) < 50 * STEPS_PER_EPOCH


def test_compare_page_overlays_runs_by_step_and_by_epoch(page):
    first = int(re.search(r"/runs/(\d+)/", _start_run(page, epochs=1)).group(1))
    second = int(re.search(r"/runs/(\d+)/", _start_run(page, epochs=1)).group(1))
    page.wait_for_function("() => document.getElementById('run-status').textContent.trim() === 'Succeeded'",
                           timeout=60_000)
    page.goto(f"/training/compare/?runs={first},{second}")
    page.wait_for_function("() => (document.getElementById('compare-chart').data || []).length >= 2")
    traces = page.evaluate("() => document.getElementById('compare-chart').data.map((t) => [t.name, Array.from(t.x)])")
    train = {name: x for name, x in traces if name.endswith(" train")}
    assert sorted(name.split()[0] for name in train) == [f"#{first}", f"#{second}"]
    assert train[f"#{second} academy-test/fake-tiny train"] == list(range(1, STEPS_PER_EPOCH + 1))
    page.check("input[name=xaxis][value=epoch]")
    x = page.evaluate("""(name) => Array.from(
        document.getElementById('compare-chart').data.find((t) => t.name === name).x)""",
                      f"#{second} academy-test/fake-tiny train")
    assert x[0] == 1 / STEPS_PER_EPOCH and x[-1] == 1.0
