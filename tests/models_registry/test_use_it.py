"""The Use it panel: what the line and version pages tell a user to send, and that it works as shown."""

import html
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from models_registry import services
from tests.models_registry.factories import make_line, make_version, serving_setup


def _snippet(page: str, ident: str) -> str:
    match = re.search(rf'<pre id="{ident}"><code>(.*?)</code></pre>', page, re.S)
    assert match, f"no {ident} snippet on the page"
    return html.unescape(match.group(1))


@pytest.fixture
def line(db, alice):
    line = make_line()
    services.promote_version(make_version(line), alice, "first")
    make_version(line)
    return line


def test_the_line_page_gives_the_base_url_model_and_token_page(client, line, viewer):
    client.force_login(viewer)
    page = client.get("/models/venom-coder/").content.decode()
    assert 'data-base-url="http://testserver/v1" data-model="venom-coder"' in page
    assert 'href="/accounts/tokens/"' in page and "the active version, <strong>v1</strong>" in page
    python = _snippet(page, "use-it-python")
    assert 'OpenAI(base_url="http://testserver/v1", api_key=os.environ["ACADEMY_TOKEN"])' in python
    assert 'model="venom-coder"' in python
    curl = _snippet(page, "use-it-curl")
    assert curl.startswith("curl http://testserver/v1/chat/completions")
    assert '"model": "venom-coder"' in curl and "Bearer $ACADEMY_TOKEN" in curl
    assert page.count("data-copy=") == 4 and "js/copy_buttons.js" in page


def test_the_base_url_follows_the_host_the_page_was_asked_on(client, line, viewer, settings):
    settings.ALLOWED_HOSTS = ["academy.example.org"]
    client.force_login(viewer)
    page = client.get("/models/venom-coder/v1/", HTTP_HOST="academy.example.org").content.decode()
    assert 'base_url="http://academy.example.org/v1"' in _snippet(page, "use-it-python")


def test_a_candidates_page_says_the_api_answers_with_the_active_version(client, line, viewer):
    client.force_login(viewer)
    page = client.get("/models/venom-coder/v2/").content.decode()
    assert "not this version (v2): promote it to serve it" in page and 'href="#playground"' in page
    assert 'model="venom-coder"' in _snippet(page, "use-it-python")


def test_a_line_without_an_active_version_says_the_api_answers_503(client, db, viewer):
    make_version(make_line(name="fresh"))
    client.force_login(viewer)
    page = client.get("/models/fresh/").content.decode()
    assert "no active version, so the API answers 503" in page


# The snippets, copied from the served page, run unchanged against a live server.

PASSWORD = "pw-for-use-it-snippets"
CANDIDATE = "make_version(line, adapter_src=b)"  # a candidate beside the active version, for the playground


@pytest.fixture(scope="module")
def live(toy, tmp_path_factory):
    pytest.importorskip("openai", reason="the dev extra installs the official openai client")
    from tests.academy_server import AcademyServer

    data = tmp_path_factory.mktemp("use-it-server")
    setup = serving_setup(toy, data, "Viewer", then=CANDIDATE)
    with AcademyServer(data, username="admin", password=PASSWORD, setup=setup) as running:
        yield running


@pytest.fixture(scope="module")
def candidate_page(live) -> str:
    """The candidate's version page as a signed-in browser gets it (session cookie, CSRF token)."""
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = browser.open(live.base + "/accounts/login/", timeout=60).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
    form = urllib.parse.urlencode({"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token})
    browser.open(live.base + "/accounts/login/", data=form.encode(), timeout=60).read()
    with browser.open(live.base + "/models/venom-coder/v2/", timeout=60) as page:
        assert page.url.endswith("/models/venom-coder/v2/"), page.url
        return page.read().decode()


def _env(live) -> dict:
    return {**os.environ, "ACADEMY_TOKEN": (live.data_dir / "agent-token").read_text()}


def test_the_python_snippet_runs_with_the_real_openai_client(live, candidate_page):
    assert re.search(r'data-base-url="([^"]+)" data-model="([^"]+)"', candidate_page).groups() == (
        live.base + "/v1", "venom-coder")
    snippet = _snippet(candidate_page, "use-it-python")
    done = subprocess.run([sys.executable, "-c", snippet], env=_env(live), capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    *answer, fingerprint = done.stdout.rstrip("\n").split("\n")
    assert fingerprint == "venom-coder:v1"  # /v1 answers with the active version, as the panel says
    assert "\n".join(answer).strip()


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="curl or bash is absent")
def test_the_curl_snippet_runs_as_pasted_into_a_shell(live, candidate_page):
    snippet = _snippet(candidate_page, "use-it-curl")
    done = subprocess.run(["bash", "-c", snippet + " --silent --show-error --dump-header /dev/stderr"],
                          env=_env(live), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.startswith("HTTP/1.1 200") and "x-academy-version: venom-coder:v1" in done.stderr.lower()
    answer = json.loads(done.stdout)
    assert answer["object"] == "chat.completion" and answer["system_fingerprint"] == "venom-coder:v1"
