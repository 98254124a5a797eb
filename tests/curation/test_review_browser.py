"""The review queue's keyboard flow in a real headless Chromium against pytest-django's live server."""

import pytest
from django.db import connections

from curation.models import Lesson, ReviewStatus
from tests.browser import launch, needs_chromium, signed_in_context
from tests.curation.factories import make_lesson

pytestmark = [needs_chromium,
              pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server, carol, client, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's own ORM reads are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield signed_in_context(browser, live_server.url, client, carol).new_page()
        # The test body's ORM calls ran under Playwright's greenlet with their own connection.
        connections.close_all()
        browser.close()


def test_keyboard_moves_approves_and_rejects_in_place(page):
    first = make_lesson("First pending lesson", status=ReviewStatus.PENDING)
    second = make_lesson("Second pending lesson", status=ReviewStatus.PENDING)
    third = make_lesson("Third pending lesson", status=ReviewStatus.PENDING)
    page.goto("/lessons/")
    visible = "article.review-record:not([hidden]) strong"
    top = page.inner_text(visible)
    page.keyboard.press("j")
    assert page.inner_text(visible) != top
    page.keyboard.press("k")
    assert page.inner_text(visible) == top
    page.keyboard.press("a")
    page.wait_for_selector(f"li.review-item[data-id='{_pk(top, first, second, third)}'] .badge.approved")
    page.keyboard.press("r")
    page.wait_for_selector("li.review-item .badge.rejected")
    statuses = sorted(Lesson.objects.values_list("review_status", flat=True))
    assert statuses == ["approved", "pending", "rejected"]
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "review-search"
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    page.wait_for_url(lambda url: "/edit?next=" in url and "item" in url)
    assert "Save and approve" in page.content()


def _pk(label, *lessons):
    return next(lesson.pk for lesson in lessons if str(lesson) == label)


def test_keys_flow_past_the_end_of_a_page_and_counts_follow_each_decision(page):
    for number in range(55):  # a page holds REVIEW_QUEUE_PAGE_SIZE (50)
        make_lesson(f"Queued lesson {number:02d}", status=ReviewStatus.PENDING)
    order = list(Lesson.objects.order_by("-occurred_at", "-id").values_list("pk", flat=True))
    page.goto("/lessons/")
    assert page.locator("li.review-item").count() == 50
    for _ in range(49):
        page.keyboard.press("j")
    page.wait_for_selector(f"li.review-item.selected[data-id='{order[49]}']")
    # Approving the page's last lesson goes on to the first of the next page, loaded in place.
    page.keyboard.press("a")
    page.wait_for_selector(f"li.review-item.selected[data-id='{order[50]}']")
    assert page.locator("article.review-record:not([hidden])").get_attribute("data-id") == str(order[50])
    # A function, not an expression: polling an expression needs eval, which the page's CSP refuses.
    page.wait_for_function("() => document.querySelector('.review-tabs a[data-source=\"lesson\"] "
                           "[data-field=\"pending\"]')"
                           ".textContent === '54 pending'")
    assert page.inner_text("#queue-count") == "54 lessons"
    assert Lesson.objects.get(pk=order[49]).review_status == ReviewStatus.APPROVED
    page.keyboard.press("r")
    page.wait_for_selector(f"li.review-item.selected[data-id='{order[51]}']")
    page.wait_for_function("() => document.getElementById('queue-count').textContent === '53 lessons'")
    for _ in range(3):
        page.keyboard.press("j")
    page.wait_for_selector(f"li.review-item.selected[data-id='{order[54]}']")
    assert not page.is_visible("#queue-end")
    page.keyboard.press("j")  # past the last lesson: the queue says so instead of stopping silently
    page.wait_for_selector("#queue-end", state="visible")
    assert page.locator("li.review-item").count() == 55
    # A reload opens the page the selected lesson came from, with it selected.
    page.reload()
    assert page.locator("li.review-item.selected").get_attribute("data-id") == str(order[54])
    assert Lesson.objects.get(pk=order[50]).review_status == ReviewStatus.REJECTED
