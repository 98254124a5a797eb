"""The playground in Debian's Chromium: a question streams answers from the candidate and the active version."""

import pytest

from tests.academy_server import AcademyServer
from tests.browser import launch, needs_chromium, sign_in
from tests.models_registry.factories import serving_setup
from tests.models_registry.test_use_it import CANDIDATE

PASSWORD = "pw-for-the-playground"

pytestmark = [needs_chromium,
              pytest.mark.timeout(600)]

# Every text the first column's answer showed, recorded as the DOM changed.
WATCH_ANSWERS = """() => {
  window.seenAnswers = [];
  const log = document.querySelector('.playground-column[data-column="1"] .playground-log');
  new MutationObserver((records) => records.forEach((record) => record.addedNodes.forEach((node) => {
    if (node.nodeType === Node.TEXT_NODE && node.parentElement && node.parentElement.classList.contains('answer'))
      window.seenAnswers.push(node.data);
  }))).observe(log, {childList: true, subtree: true});
}"""

OVERFLOW = """(selector) => { const el = document.querySelector(selector);
  return {scroll: el.scrollWidth, client: el.clientWidth, visible: el.getBoundingClientRect().width > 0}; }"""


@pytest.fixture(scope="module")
def server(toy, tmp_path_factory):
    data = tmp_path_factory.mktemp("playground-server")
    with AcademyServer(data, username="admin", password=PASSWORD,
                       setup=serving_setup(toy, data, "Viewer", then=CANDIDATE)) as running:
        yield running


@pytest.fixture(scope="module")
def page(server):
    pytest.importorskip("playwright", reason="the dev extra installs Playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(base_url=server.base, viewport={"width": 1400, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
        page = context.new_page()
        page.set_default_timeout(120_000)
        sign_in(page, "admin", PASSWORD)
        yield page
        browser.close()


def test_a_question_streams_answers_from_the_candidate_and_the_active_version(page, tmp_path):
    page.goto("/models/venom-coder/v2/")
    assert page.locator("#playground").is_visible()
    page.evaluate(WATCH_ANSWERS)
    page.fill("#playground-question", "What is a lesson?")
    page.fill("#playground input[name='max_tokens']", "16")
    page.click("#playground button[type='submit']")
    page.wait_for_selector('[data-column="1"] .playground-entry[data-state="done"]')
    page.wait_for_selector('[data-column="2"] .playground-entry[data-state="done"]')

    left = page.locator('[data-column="1"] .playground-entry')
    right = page.locator('[data-column="2"] .playground-entry')
    assert left.get_attribute("data-version") == "venom-coder:v2"
    assert right.get_attribute("data-version") == "venom-coder:v1"
    assert "answered by venom-coder:v2" in left.locator(".meta").inner_text()
    assert "answered by venom-coder:v1" in right.locator(".meta").inner_text()
    answers = left.locator(".answer").inner_text(), right.locator(".answer").inner_text()
    assert all(a.strip() for a in answers) and answers[0] != answers[1]
    seen = page.evaluate("window.seenAnswers")
    assert len(seen) > 1 and seen[-1] == answers[0]  # the answer grew piece by piece
    assert all(later.startswith(earlier) for earlier, later in zip(seen, seen[1:], strict=False))

    page.screenshot(path=str(tmp_path / "playground-1400.png"), full_page=True)
    page.set_viewport_size({"width": 800, "height": 900})
    page.locator("#playground").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "playground-800.png"), full_page=True)
    for selector in ("#playground", "#use-it"):
        box = page.evaluate(OVERFLOW, selector)
        assert box["visible"] and box["scroll"] <= box["client"], (selector, box)
    assert (tmp_path / "playground-1400.png").stat().st_size and (tmp_path / "playground-800.png").stat().st_size


def test_a_follow_up_keeps_each_columns_conversation(page):
    page.goto("/models/venom-coder/v2/")
    page.select_option('[data-column="2"] select', "")  # ask the candidate alone
    for question in ("What is a lesson?", "And a dataset?"):
        page.fill("#playground-question", question)
        page.click("#playground button[type='submit']")
        page.wait_for_function("(n) => document.querySelectorAll("
                               "'[data-column=\"1\"] .playground-entry[data-state=\"done\"]').length === n",
                               arg=2 if question.startswith("And") else 1)
    assert page.locator('[data-column="2"] .playground-entry').count() == 0
    assert page.locator('[data-column="1"] .question').all_inner_texts() == ["What is a lesson?", "And a dataset?"]


def test_the_copy_button_copies_the_snippet_as_shown(page):
    page.goto("/models/venom-coder/")
    page.click("button[data-copy='use-it-python']")
    page.wait_for_function("() => document.querySelector(\"button[data-copy='use-it-python']\")"
                           ".textContent === 'Copied'")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == page.inner_text("#use-it-python code")
    assert 'model="venom-coder"' in copied and "/v1" in copied
