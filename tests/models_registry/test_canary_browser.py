"""The line page's canary panel in Debian's Chromium: it follows a canary live until the agents' outcomes promote it."""

import json
import random
import urllib.request
from pathlib import Path

import pytest

from tests.academy_server import AcademyServer
from tests.browser import launch, needs_chromium, sign_in
from tests.models_registry.factories import serving_setup

PASSWORD = "pw-for-the-canary-panel"
CANARY = """
v2 = make_version(line, adapter_src=b)
canary.set_line_policy(line, admin, {"share": 0.5, "max_p95_ratio": 1000.0, "max_error_rate": 1.0})
canary.start_canary(v2, admin)
"""

pytestmark = [needs_chromium, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def server(toy, tmp_path_factory):
    data = tmp_path_factory.mktemp("canary-server")
    setup = serving_setup(toy, data, "Operator", then=CANARY)
    with AcademyServer(data, username="admin", password=PASSWORD, setup=setup) as running:
        running.token = (Path(data) / "agent-token").read_text()
        yield running


def _post(server, path: str, body: dict, session: str | None = None):
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    if session:
        headers["X-Academy-Session"] = session
    request = urllib.request.Request(server.base + path, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.headers, json.loads(response.read())


def _conversation(server, i: int, rng: random.Random) -> str:
    """One simulated agent conversation: a question, then its outcome (v2 mostly succeeds, v1 mostly fails)."""
    headers, body = _post(server, "/v1/chat/completions", {
        "model": "venom-coder", "messages": [{"role": "user", "content": "What is a lesson?"}], "max_tokens": 1},
        session=f"browser-{i}")
    version = headers["X-Academy-Version"].split(":")[1]
    success = rng.random() < (0.95 if version == "v2" else 0.15)
    _post(server, "/api/v1/feedback", {"completion_id": body["id"], "outcome": "success" if success else "failure"})
    return version


def test_the_canary_panel_moves_to_its_decision_live(server, tmp_path):
    pytest.importorskip("playwright", reason="the dev extra installs Playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(base_url=server.base, viewport={"width": 1300, "height": 1000}).new_page()
        page.set_default_timeout(120_000)
        sign_in(page, "admin", PASSWORD)
        page.goto("/models/venom-coder/")
        assert page.locator("#canary").get_attribute("data-canary-state") == "running"
        assert page.locator("#canary [data-canary-stop]").is_visible()  # the Admin's one-click stop
        page.evaluate("() => { window.sameLoad = true; }")  # gone if the page reloaded

        rng = random.Random(5)
        for i in range(4):
            _conversation(server, i, rng)
        # The outcomes so far reach the open page over the line's socket.
        page.wait_for_function("""() => {
          const cells = document.querySelectorAll('#canary-versions [data-f="outcomes"]');
          return [...cells].reduce((n, c) => n + parseInt(c.textContent.split(' of ')[1] || '0'), 0) >= 4;
        }""")
        decided = None
        for i in range(4, 400):
            _conversation(server, i, rng)
            state = page.locator("#canary").get_attribute("data-canary-state")
            if state != "running":
                decided = state
                break
        page.wait_for_function("() => document.getElementById('canary').dataset.canaryState === 'promoted'")
        assert decided in (None, "promoted")
        assert page.evaluate("() => window.sameLoad === true")
        assert page.locator("#canary [data-canary-field='state']").inner_text() == "promoted"
        assert "the candidate is better" in page.locator("#canary [data-canary-field='reason']").inner_text()
        assert not page.locator("#canary [data-canary-stop]").is_visible()
        # The chart holds the statistic and its two boundaries, one point per outcome read.
        points = page.evaluate("() => document.getElementById('canary-chart').data[0].x.length")
        assert points >= 4
        lows = page.evaluate("() => document.getElementById('canary-chart').data[1].y")
        assert lows[-1] > 0  # promoted: the lower boundary crossed zero
        page.screenshot(path=str(tmp_path / "canary-panel.png"), full_page=True)
        browser.close()
