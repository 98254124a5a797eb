import json

import pytest

from curation.models import Conversation, Lesson, ReviewStatus
from tests.curation.factories import make_conversation, make_lesson
from tests.factories import bearer, make_token

pytestmark = pytest.mark.django_db

LESSON = {"situation": "The migration locked the table.", "action": "Add the index concurrently."}
TASK = {"task_id": "t-1", "title": "Rename", "succeeded": True,
        "messages": [{"role": "user", "content": "Rename foo."}, {"role": "assistant", "content": "Done."}]}


def post(client, url, body, headers):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **headers)


@pytest.fixture
def operator_auth(bob):
    return bearer(make_token(bob, "Operator"))


def test_operator_pushes_a_batch_and_gets_counts_and_ids(client, operator_auth, bob):
    response = post(client, "/api/v1/lessons", {"lessons": [LESSON, {**LESSON, "action": "Use a lock timeout."}]},
                    operator_auth)
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["duplicates"]) == (2, 0)
    assert sorted(body["ids"]) == sorted(Lesson.objects.values_list("pk", flat=True))
    assert Lesson.objects.filter(origin="api", submitted_by=bob, review_status=ReviewStatus.PENDING).count() == 2


def test_pushing_the_same_lesson_again_reports_a_duplicate(client, operator_auth):
    first = post(client, "/api/v1/lessons", LESSON, operator_auth).json()
    again = post(client, "/api/v1/lessons", LESSON, operator_auth).json()
    assert (again["created"], again["duplicates"], again["ids"]) == (0, 1, first["ids"])


def test_missing_fields_give_400_with_per_record_details_and_write_nothing(client, operator_auth):
    response = post(client, "/api/v1/lessons", [LESSON, {"situation": "no action"}, {"action": "x"}], operator_auth)
    assert response.status_code == 400
    assert response.json()["details"] == ["record 1, field action: required, a non-empty string",
                                          "record 2, field situation: required, a non-empty string"]
    assert Lesson.objects.count() == 0


def test_malformed_json_gives_400(client, operator_auth):
    response = post(client, "/api/v1/lessons", b'{"situation": ', operator_auth)
    assert response.status_code == 400
    assert response.json()["error"] == "malformed JSON"


def test_oversized_body_gives_413(client, operator_auth, settings):
    settings.API_MAX_BODY_BYTES = 1024
    response = post(client, "/api/v1/lessons", {**LESSON, "feedback": "x" * 2000}, operator_auth)
    assert response.status_code == 413
    assert Lesson.objects.count() == 0


def test_non_utf8_body_is_refused_naming_the_record(client, operator_auth):
    body = b'[{"situation": "ok", "action": "ok"}, {"situation": "ok", "action": "na\xefve"}]'
    response = post(client, "/api/v1/lessons", body, operator_auth)
    assert response.status_code == 400
    assert response.json()["details"] == ["record 1, field action: text is not valid UTF-8"]


def test_tasks_endpoint_keeps_conversations_and_reports_skipped(client, operator_auth):
    failed = {**TASK, "task_id": "t-2", "succeeded": False}
    response = post(client, "/api/v1/tasks", [TASK, failed], operator_auth)
    assert response.status_code == 201
    body = response.json()
    assert body["created"] == 1
    assert body["skipped"] == [{"index": 1, "reason": "task did not succeed"}]
    assert Conversation.objects.get().task_id == "t-1"


def test_list_filters_by_status_tag_search_and_date(client, carol):
    make_lesson("Flaky network test", tags=["ci"], status=ReviewStatus.PENDING)
    make_lesson("Slow docker build", tags=["docker"], status=ReviewStatus.PENDING)
    make_lesson("Approved one", tags=["ci"])
    client.force_login(carol)
    body = client.get("/api/v1/lessons", {"status": "pending", "tag": "ci"}).json()
    assert [row["situation"] for row in body["results"]] == ["Flaky network test"]
    assert client.get("/api/v1/lessons", {"q": "DOCKER"}).json()["count"] == 1
    assert client.get("/api/v1/lessons", {"since": "2000-01-01", "until": "2000-12-31"}).json()["count"] == 0
    assert client.get("/api/v1/lessons", {"since": "bad"}).status_code == 400


@pytest.mark.parametrize("params, field", [({"since": "bad"}, "since"), ({"status": "maybe"}, "status"),
                                           ({"sort": "oldest"}, "sort"), ({"page_size": "0"}, "page_size")])
def test_a_bad_filter_is_named_in_the_details(client, carol, params, field):
    client.force_login(carol)
    response = client.get("/api/v1/lessons", params)
    assert response.status_code == 400 and response.json()["error"] == "invalid filter"
    [detail] = response.json()["details"]
    assert detail["field"] == field and detail["message"].startswith(f"{field} must be ")


def test_list_is_paginated(client, carol):
    for _ in range(3):
        make_lesson()
    client.force_login(carol)
    body = client.get("/api/v1/lessons", {"page_size": 2, "page": 2}).json()
    assert (body["count"], body["pages"], body["page"], len(body["results"])) == (3, 2, 2, 1)


def test_tasks_list_returns_messages(client, viewer):
    make_conversation(task_id="t-7")
    client.force_login(viewer)
    row = client.get("/api/v1/tasks").json()["results"][0]
    assert row["task_id"] == "t-7" and row["messages"][0]["role"] == "user"


@pytest.mark.parametrize("url", ["/api/v1/lessons", "/api/v1/tasks"])
def test_ingest_needs_a_token_with_ingest_permission(client, url, carol, viewer, alice):
    assert post(client, url, LESSON, {}).status_code == 401
    for headers in (bearer(make_token(carol, "Reviewer")), bearer(make_token(viewer, "Viewer")),
                    bearer(make_token(alice, "Viewer"))):
        assert post(client, url, LESSON, headers).status_code == 403
    assert Lesson.objects.count() == Conversation.objects.count() == 0


@pytest.mark.parametrize("url", ["/api/v1/lessons", "/api/v1/tasks"])
def test_admin_token_may_ingest_and_session_writes_are_refused(client, url, alice):
    body = LESSON if url.endswith("lessons") else TASK
    assert post(client, url, body, bearer(make_token(alice, "Admin"))).status_code == 201
    client.force_login(alice)
    assert post(client, url, body, {}).status_code == 401  # writes need a token: no CSRF exposure


@pytest.mark.parametrize("url", ["/api/v1/lessons", "/api/v1/tasks"])
def test_listing_needs_view_permission(client, url, dave, bob):
    assert client.get(url).status_code == 401
    client.force_login(dave)
    assert client.get(url).status_code == 403
    client.force_login(bob)
    assert client.get(url).status_code == 200
