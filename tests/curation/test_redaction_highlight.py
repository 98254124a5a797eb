"""`[REDACTED:kind]` markers are highlighted wherever stored text is shown, and the text around them stays escaped."""

import re

import pytest
from django.urls import reverse

from curation.models import DatasetSnapshot
from curation.services.datasets import run_build, start_build
from curation.templatetags.redaction import redacted
from jobs.models import JobStatus
from tests.curation.factories import make_commit_example, make_conversation, make_lesson

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
MARK = '<mark class="redacted" data-kind="openai_key"'


def _queue_list(page: str) -> str:
    """The review queue's list of entries (not the selected record's panel)."""
    return re.search(r'<aside class="review-list">(.*?)</aside>', page, re.S).group(1)


def _assert_escaped(html: str) -> None:
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_filter_escapes_the_text_around_a_marker_and_only_wraps_the_marker():
    html = redacted(f"{SCRIPT} key [REDACTED:openai_key] and [REDACTED:<b>x</b>] {SCRIPT}")
    _assert_escaped(html)
    assert html.count("<mark") == 1 and "[REDACTED:&lt;b&gt;x&lt;/b&gt;]" in html


def test_a_shortened_entry_never_cuts_a_marker_in_half():
    text = "x" * 80 + " [REDACTED:openai_key] and more text after it"
    short = redacted(text, 90)
    assert "[REDACTED:" not in short and short.endswith("…") and len(short) <= 90
    whole = redacted("key [REDACTED:openai_key] " + "y" * 100, 90)
    assert whole.count("<mark") == 1 and "y" * 60 in whole and "y" * 90 not in whole
    assert redacted("short [REDACTED:openai_key]", 90).count("<mark") == 1


@pytest.mark.parametrize("source", ["lesson", "commit", "conversation"])
def test_the_review_queue_list_entries_highlight_markers_and_escape_the_rest(client, carol, source):
    text = f"Key [REDACTED:openai_key] leaked {SCRIPT}"
    if source == "lesson":
        make_lesson(situation=text, status="pending")
    elif source == "commit":
        make_commit_example(message=text, status="pending")
    else:
        make_conversation(title=text, status="pending")
    client.force_login(carol)
    page = client.get(reverse("lesson_list"), {"source": source, "status": "pending"}).content.decode()
    entries = _queue_list(page)
    assert MARK in entries
    _assert_escaped(entries)


@pytest.fixture
def snapshot():
    make_lesson(situation=f"The eval failed until I exported OPENAI_API_KEY=[REDACTED:openai_key] {SCRIPT}",
                action="Rotate the key and keep it in the secrets store.")
    make_lesson()
    build = run_build(start_build(None, name="highlight", format="messages", queue=False).pk)
    assert build.status == JobStatus.SUCCEEDED, build.error
    funnel = list(build.snapshot.funnel)
    funnel.append({"stage": "secrets", "in": 1, "kept": 0, "dropped": 1, "reasons": {"secret": 1}, "samples": [
        {"reason": "secret", "source": {"kind": "lesson", "id": 1, "ref": "1"},
         "text": f"dropped: token [REDACTED:openai_key] {SCRIPT}"}]})
    DatasetSnapshot.objects.filter(pk=build.snapshot.pk).update(funnel=funnel)
    return build.snapshot


def test_the_snapshot_preview_rows_and_dropped_samples_highlight_markers(client, viewer, snapshot):
    client.force_login(viewer)
    page = client.get(reverse("dataset_detail", args=[snapshot.sha256])).content.decode()
    rows = page[page.index("<h2>First rows</h2>"):page.index("<h2>Build configuration</h2>")]
    assert MARK in rows
    _assert_escaped(rows)
    funnel = page[page.index("<h2>Funnel</h2>"):page.index("<h2>First rows</h2>")]
    assert MARK in funnel
    _assert_escaped(funnel)
