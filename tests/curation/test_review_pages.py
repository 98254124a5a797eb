import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from curation.models import Conversation, Lesson, ReviewStatus
from tests.curation.factories import make_conversation, make_lesson

pytestmark = pytest.mark.django_db


def upload(client, content: bytes, kind="lessons", name="lessons.jsonl"):
    return client.post("/lessons/upload", {"kind": kind, "file": SimpleUploadedFile(name, content)})


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "viewer"])
def test_every_role_sees_the_queue(client, who, request):
    make_lesson("Pending situation to review", status=ReviewStatus.PENDING)
    client.force_login(request.getfixturevalue(who))
    response = client.get("/lessons/")
    assert response.status_code == 200
    assert b"Pending situation to review" in response.content
    assert b"<kbd>j</kbd>" in response.content


def test_outsider_and_anonymous_cannot_see_the_queue(client, dave):
    assert client.get("/lessons/").status_code == 302
    client.force_login(dave)
    assert client.get("/lessons/").status_code == 403


def test_queue_shows_review_buttons_only_to_reviewers(client, carol, bob):
    make_lesson(status=ReviewStatus.PENDING)
    client.force_login(carol)
    assert b'name="decision" value="approve"' in client.get("/lessons/").content
    client.force_login(bob)
    assert b'name="decision" value="approve"' not in client.get("/lessons/").content


def test_queue_opens_on_pending_and_filters_by_source_tag_and_search(client, carol):
    make_lesson("Approved lesson text")
    make_lesson("Pending lesson about caching", tags=["cache"], status=ReviewStatus.PENDING)
    make_lesson("Pending lesson about logging", tags=["logs"], status=ReviewStatus.PENDING)
    make_conversation(title="Pending conversation title", status=ReviewStatus.PENDING)
    client.force_login(carol)
    page = client.get("/lessons/").content
    assert b"Pending lesson about caching" in page and b"Approved lesson text" not in page
    assert b"Pending conversation title" not in page
    assert b"Pending conversation title" in client.get("/lessons/?source=conversation").content
    tagged = client.get("/lessons/?tag=cache").content
    assert b"about caching" in tagged and b"about logging" not in tagged
    found = client.get("/lessons/?q=logging&status=").content
    assert b"about logging" in found and b"about caching" not in found
    assert client.get("/lessons/?source=nope").status_code == 400
    assert client.get("/lessons/?since=31.12.2020").status_code == 400


def test_reviewer_approves_without_js_and_lands_on_the_next_item(client, carol):
    first = make_lesson(status=ReviewStatus.PENDING)
    second = make_lesson(status=ReviewStatus.PENDING)
    client.force_login(carol)
    next_url = f"/lessons/?source=lesson&status=pending&item={second.pk}"
    response = client.post(f"/lessons/lesson/{first.pk}/review", {"decision": "approve", "next": next_url})
    assert response.status_code == 302 and response.url == next_url
    first.refresh_from_db()
    assert first.review_status == ReviewStatus.APPROVED and first.reviewed_by == carol


def test_decision_answers_json_for_the_keyboard_queue(client, carol):
    conversation = make_conversation(status=ReviewStatus.PENDING)
    client.force_login(carol)
    make_conversation(status=ReviewStatus.PENDING)
    make_lesson(status=ReviewStatus.PENDING)
    response = client.post(f"/lessons/conversation/{conversation.pk}/review",
                           {"decision": "reject", "queue": "source=conversation&status=pending&item=1"},
                           HTTP_ACCEPT="application/json")
    # The counts the queue shows come with the answer: the tabs' pending badges and this queue's length.
    assert response.json() == {"id": conversation.pk, "source": "conversation", "review_status": "rejected",
                                "pending": {"lesson": 1, "conversation": 1, "commit": 0}, "queue_count": 1}


def test_decision_refuses_an_offsite_next_url(client, carol):
    lesson = make_lesson(status=ReviewStatus.PENDING)
    client.force_login(carol)
    response = client.post(f"/lessons/lesson/{lesson.pk}/review",
                           {"decision": "reject", "next": "https://evil.example/"})
    assert response.url == "/lessons/"


@pytest.mark.parametrize("who", ["bob", "viewer", "dave"])
def test_non_reviewers_cannot_decide_or_edit(client, who, request):
    lesson = make_lesson(status=ReviewStatus.PENDING)
    client.force_login(request.getfixturevalue(who))
    assert client.post(f"/lessons/lesson/{lesson.pk}/review", {"decision": "approve"}).status_code == 403
    assert client.get(f"/lessons/lesson/{lesson.pk}/edit").status_code == 403
    assert Lesson.objects.get().review_status == ReviewStatus.PENDING


def test_unknown_source_or_record_is_404(client, carol):
    client.force_login(carol)
    assert client.post("/lessons/commit/1/review", {"decision": "approve"}).status_code == 404
    assert client.post("/lessons/lesson/999/review", {"decision": "approve"}).status_code == 404


def test_reviewer_edits_a_lesson_and_approves_it(client, carol):
    lesson = make_lesson(status=ReviewStatus.PENDING)
    client.force_login(carol)
    assert b"Save and approve" in client.get(f"/lessons/lesson/{lesson.pk}/edit").content
    response = client.post(f"/lessons/lesson/{lesson.pk}/edit", {
        "situation": "Corrected situation", "action": "Corrected action", "result": "", "feedback": "",
        "approve": "1", "next": "/lessons/"})
    assert response.status_code == 302
    lesson.refresh_from_db()
    assert (lesson.situation, lesson.review_status) == ("Corrected situation", ReviewStatus.APPROVED)


def test_editing_a_conversation_with_bad_messages_shows_the_problem(client, carol):
    conversation = make_conversation(status=ReviewStatus.PENDING)
    client.force_login(carol)
    response = client.post(f"/lessons/conversation/{conversation.pk}/edit",
                           {"messages": json.dumps([{"role": "robot", "content": "x"}])})
    assert response.status_code == 400
    assert b"must be one of system, user, assistant" in response.content
    assert Conversation.objects.get().messages == conversation.messages


def test_operator_uploads_lessons_and_reimport_creates_nothing(client, bob):
    client.force_login(bob)
    content = b'{"situation": "s1", "action": "a1"}\n{"situation": "s2", "action": "a2"}\n'
    response = upload(client, content)
    assert response.status_code == 302
    assert Lesson.objects.filter(origin="upload").count() == 2
    upload(client, content)
    assert Lesson.objects.count() == 2


def test_upload_shows_per_record_problems_and_imports_nothing(client, bob):
    client.force_login(bob)
    response = upload(client, b'[{"situation": "s1", "action": "a1"}, {"situation": "s2"}]')
    assert response.status_code == 400
    assert b"record 1, field action: required, a non-empty string" in response.content
    assert Lesson.objects.count() == 0


def test_upload_of_task_history(client, alice):
    client.force_login(alice)
    task = {"task_id": "t-1", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    response = upload(client, json.dumps([task]).encode(), kind="tasks", name="tasks.json")
    assert response.status_code == 302
    assert Conversation.objects.get().task_id == "t-1"


@pytest.mark.parametrize("who", ["carol", "viewer", "dave"])
def test_only_ingesters_may_upload(client, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/lessons/upload").status_code == 403
    assert upload(client, b'{"situation": "s", "action": "a"}').status_code == 403
    assert Lesson.objects.count() == 0
