"""The review queue pages by cursor: a decision on one page never makes the next one skip pending work."""

import re

import pytest

from curation.models import ExampleFeedback, Lesson, ReviewStatus
from tests.curation.factories import make_lesson

pytestmark = pytest.mark.django_db


def _shown(response) -> list[int]:
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'<li class="review-item[^"]*" data-id="(\d+)"', response.content.decode())]


def _next_link(response) -> str | None:
    found = re.search(r'id="queue-next" href="([^"]+)"', response.content.decode())
    return "/lessons/" + found.group(1).replace("&amp;", "&") if found else None


def _previous_link(response) -> str | None:
    found = re.search(r'<a href="([^"]+)">&larr; previous', response.content.decode())
    return "/lessons/" + found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def queue(settings, client, carol):
    settings.REVIEW_QUEUE_PAGE_SIZE = 5
    for _ in range(12):
        make_lesson(status=ReviewStatus.PENDING)
    client.force_login(carol)
    return list(Lesson.objects.order_by("-occurred_at", "-id").values_list("pk", flat=True))


def test_next_page_after_deciding_the_first_one_starts_at_the_first_undecided_lesson(client, queue):
    first = client.get("/lessons/")
    assert _shown(first) == queue[:5]
    for pk in queue[:5]:
        assert client.post(f"/lessons/lesson/{pk}/review", {"decision": "approve"}).status_code == 302
    # An offset would now jump to the 11th lesson; the cursor follows the 5th.
    second = client.get(_next_link(first))
    assert _shown(second) == queue[5:10]
    # Its place in what is left: the first pending lessons, 7 of them.
    assert "1–5</span>" in second.content.decode() and "7 lessons" in second.content.decode()
    third = client.get(_next_link(second))
    assert _shown(third) == queue[10:]
    assert _next_link(third) is None
    # The start of the pending queue is the same first undecided lesson.
    assert _shown(client.get("/lessons/")) == queue[5:10]


def test_a_lesson_skipped_on_an_earlier_page_stays_in_the_queue(client, queue):
    first = client.get("/lessons/")
    for pk in queue[:4]:  # the fifth is skipped with j
        client.post(f"/lessons/lesson/{pk}/review", {"decision": "reject"})
    assert _shown(client.get(_next_link(first))) == queue[5:10]
    assert _shown(client.get("/lessons/"))[0] == queue[4]


def test_previous_walks_back_page_by_page(client, queue):
    page = client.get("/lessons/")
    for _ in range(2):
        page = client.get(_next_link(page))
    assert _shown(page) == queue[10:]
    back = client.get(_previous_link(page))
    assert _shown(back) == queue[5:10]
    assert _shown(client.get(_previous_link(back))) == queue[:5]


def test_without_js_deciding_the_last_lesson_of_a_page_goes_on_to_the_next_page(client, queue):
    first = client.get("/lessons/")
    next_url = re.findall(r'name="next" value="([^"]+)"', first.content.decode())[-1].replace("&amp;", "&")
    response = client.post(f"/lessons/lesson/{queue[4]}/review", {"decision": "approve", "next": next_url})
    assert _shown(client.get(response.url)) == queue[5:10]


def test_hardest_first_pages_through_every_record_once_in_order(client, queue):
    losses = [2.0, None, 0.5, 2.0, None, 1.0, 3.0, None, 0.5, None, 1.5, 2.0]
    for pk, loss in zip(queue, losses, strict=True):
        if loss is not None:
            ExampleFeedback.objects.create(source_kind="lesson", source_id=pk, train_loss=loss)
    expected = sorted(queue, key=lambda pk: (losses[queue.index(pk)] is None, -(losses[queue.index(pk)] or 0), -pk))
    page, seen = client.get("/lessons/?sort=loss"), []
    while True:
        seen += _shown(page)
        if not _next_link(page):
            break
        page = client.get(_next_link(page))
    assert seen == expected
    back = client.get(_previous_link(page))
    assert _shown(back) == expected[5:10]


def test_a_bad_cursor_is_refused_and_an_unknown_one_opens_the_start(client, queue):
    response = client.get("/lessons/?after=abc")
    assert response.status_code == 400 and b"after must be a record id" in response.content
    assert _shown(client.get("/lessons/?after=999999")) == queue[:5]
