"""Git commit examples in the review queue, with a sampled review of the auto-approved ones."""

import re

import pytest

from curation.models import CommitExample, ReviewStatus
from tests.curation.factories import make_commit_example, make_repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def commits():
    repository = make_repository()
    return [make_commit_example(repository, message=f"fix: parser case {i}", diff=f"+case {i}\n") for i in range(5)]


def _shown_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<li class="review-item[^"]*" data-id="(\d+)"', html)]


def test_the_queue_has_a_git_commits_tab_with_message_and_diff(client, carol, commits):
    pending = make_commit_example(commits[0].repository, message="feat: new thing", status=ReviewStatus.PENDING)
    client.force_login(carol)
    html = client.get("/lessons/?source=commit").content.decode()
    assert "Git commits" in html and _shown_ids(html) == [pending.pk]
    assert "Commit message (what the model learns to write)" in html and "feat: new thing" in html
    assert f'/lessons/commit/{pending.pk}/edit' not in html  # kept as mined


def test_sampled_review_walks_auto_approved_commits_in_a_stable_order(client, carol, commits):
    client.force_login(carol)
    html = client.get("/lessons/?source=commit").content.decode()
    assert 'id="sampled-review"' in html and "Sample 5 auto-approved" in html
    sample = client.get("/lessons/?source=commit&status=&sampled=auto").content.decode()
    expected = [c.pk for c in sorted(commits, key=lambda c: c.content_key)]
    assert _shown_ids(sample) == expected


def test_confirming_a_sampled_commit_records_the_reviewer_and_rejecting_keeps_it_out(client, carol, commits):
    client.force_login(carol)
    first, second = sorted(commits, key=lambda c: c.content_key)[:2]
    response = client.post(f"/lessons/commit/{first.pk}/review", {"decision": "approve"})
    assert response.status_code in (200, 302)
    first.refresh_from_db()
    assert first.review_status == ReviewStatus.APPROVED and first.reviewed_by == carol
    client.post(f"/lessons/commit/{second.pk}/review", {"decision": "reject"})
    sample = client.get("/lessons/?source=commit&status=&sampled=auto").content.decode()
    assert first.pk not in _shown_ids(sample) and second.pk not in _shown_ids(sample)
    assert CommitExample.objects.approved().count() == 4
