"""Static files as `make run` serves them: collected under hashed names, gzip-compressed, cached for a year."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FETCH = """
import json
import django
django.setup()
from django.templatetags.static import static
from django.test import Client

client = Client(HTTP_HOST="127.0.0.1")
url = static("vendor/plotly.min.js")
answers = {}
for name, headers in (("gzip", {"HTTP_ACCEPT_ENCODING": "gzip, deflate"}), ("plain", {})):
    response = client.get(url, **headers)
    body = b"".join(response.streaming_content)
    answers[name] = {"status": response.status_code, "encoding": response.get("Content-Encoding"),
                     "cache": response.get("Cache-Control"), "size": len(body), "head": body[:2].hex()}
login = client.get("/accounts/login/").content.decode()
print(json.dumps({"url": url, "answers": answers, "login": login}))
"""


def _run(args, data_dir, **extra):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(data_dir), "ACADEMY_DATA_DIR": str(data_dir),
           "SECRET_KEY": "static-files-test", "STATIC_MANIFEST": "true", "DJANGO_SETTINGS_MODULE":
           "academy_site.settings", "PYTHONPATH": str(ROOT), **extra}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_collected_plotly_is_served_gzipped_under_a_hashed_name_cached_for_a_year(tmp_path):
    collected = _run(["manage.py", "collectstatic", "--noinput", "--verbosity", "0"], tmp_path)
    assert collected.returncode == 0, collected.stderr
    fetched = _run(["-c", FETCH], tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    result = json.loads(fetched.stdout.strip().splitlines()[-1])
    # The template tag names the content-hashed copy: a new plotly version gets a new URL.
    assert result["url"].startswith("/static/vendor/plotly.") and result["url"] != "/static/vendor/plotly.min.js"
    gzipped, plain = result["answers"]["gzip"], result["answers"]["plain"]
    assert gzipped["status"] == plain["status"] == 200
    assert gzipped["encoding"] == "gzip" and gzipped["head"] == "1f8b"  # the gzip magic number
    assert gzipped["size"] * 3 < plain["size"]
    assert plain["encoding"] is None
    assert "max-age=315360000" in gzipped["cache"] and "immutable" in gzipped["cache"]
    # Pages link the hashed names too.
    assert '/static/css/academy.css"' not in result["login"] and "/static/css/academy." in result["login"]


def test_without_collected_files_the_tests_settings_serve_the_sources(client):
    from django.conf import settings

    assert settings.STATIC_MANIFEST is False and settings.WHITENOISE_USE_FINDERS is True
    response = client.get("/static/js/review.js")
    assert response.status_code == 200
