import json

import pytest

from curation.models import Conversation, Lesson, ReviewStatus
from curation.services.ingest import PayloadError, ingest_conversations, ingest_lessons

pytestmark = pytest.mark.django_db

LESSONS_STORE_EXPORT = {
    "version": "1.0",
    "exported_at": "2026-01-05T10:00:00",
    "lessons": [
        {"lesson_id": "l-001", "timestamp": "2026-01-04T09:30:00", "situation": "pytest hangs on CI",
         "action": "set a per-test timeout", "result": "SUKCES: CI green", "feedback": "good",
         "tags": ["ci", "pytest"], "metadata": {"agent": "venom"}},
        {"lesson_id": "l-002", "timestamp": 1767600000, "situation": "docker build slow",
         "action": "reorder layers", "result": "✅", "feedback": "", "tags": [], "metadata": {}},
    ],
}


def conversation(task_id="t-1", *, succeeded=True, messages=None):
    return {"task_id": task_id, "title": f"Task {task_id}", "succeeded": succeeded, "tags": ["refactor"],
            "messages": messages or [{"role": "system", "content": "You are a coding agent."},
                                     {"role": "user", "content": "Rename foo to bar."},
                                     {"role": "assistant", "content": "Renamed in 3 files."}]}


def test_it_imports_a_lessons_store_export():
    result = ingest_lessons(json.dumps(LESSONS_STORE_EXPORT).encode())
    assert (result.created, result.duplicates) == (2, 0)
    lesson = Lesson.objects.get(lesson_id="l-001")
    assert lesson.result == "SUKCES: CI green"
    assert lesson.tags == ["ci", "pytest"]
    assert lesson.metadata == {"agent": "venom"}
    assert lesson.occurred_at.isoformat() == "2026-01-04T09:30:00+00:00"
    assert Lesson.objects.get(lesson_id="l-002").occurred_at.timestamp() == 1767600000
    assert result.ids == [lesson.pk, Lesson.objects.get(lesson_id="l-002").pk]


def test_importing_the_same_file_twice_creates_nothing_new():
    raw = json.dumps(LESSONS_STORE_EXPORT).encode()
    ingest_lessons(raw)
    again = ingest_lessons(raw)
    assert (again.created, again.duplicates) == (0, 2)
    assert Lesson.objects.count() == 2


def test_whitespace_only_differences_are_duplicates():
    ingest_lessons({"situation": "disk full", "action": "prune images"})
    again = ingest_lessons([{"situation": "  disk   full\r\n", "action": "prune images  "},
                            {"situation": "disk full", "action": "prune images"}])
    assert (again.created, again.duplicates) == (0, 2)


def test_it_accepts_one_object_a_list_and_jsonl():
    assert ingest_lessons(b'{"situation": "s1", "action": "a1"}').created == 1
    assert ingest_lessons(b'[{"situation": "s2", "action": "a2"}]').created == 1
    jsonl = b'{"situation": "s3", "action": "a3"}\n\n{"situation": "s4", "action": "a4"}\n'
    assert ingest_lessons(jsonl).created == 2


def test_one_bad_record_writes_nothing_from_the_batch_and_names_each_problem():
    batch = [{"situation": "fine", "action": "fine"},
             {"situation": "", "action": "x"},
             {"situation": "s", "action": "a", "tags": "ci", "timestamp": "yesterday"},
             "not an object"]
    with pytest.raises(PayloadError) as caught:
        ingest_lessons(batch)
    assert Lesson.objects.count() == 0
    details = caught.value.details
    assert "record 1, field situation: required, a non-empty string" in details
    assert "record 2, field tags: must be a list of strings" in details
    assert any(d.startswith("record 2, field timestamp:") for d in details)
    assert "record 3: must be a JSON object" in details
    assert caught.value.message.startswith("3 of 4")


def test_malformed_json_is_refused_with_its_position():
    with pytest.raises(PayloadError) as caught:
        ingest_lessons(b'{"situation": "s", "action": ')
    assert caught.value.message == "malformed JSON"
    assert caught.value.details[0].startswith("line 1 column")


def test_non_utf8_text_is_refused_naming_the_record_and_field():
    raw = b'{"situation": "ok", "action": "ok"}\n{"situation": "caf\xe9", "action": "ok"}\n'
    with pytest.raises(PayloadError) as caught:
        ingest_lessons(raw)
    assert caught.value.details == ["record 1, field situation: text is not valid UTF-8"]
    assert Lesson.objects.count() == 0


def test_unknown_fields_are_kept_in_metadata():
    ingest_lessons({"situation": "s", "action": "a", "success": True, "metadata": {"k": 1}})
    assert Lesson.objects.get().metadata == {"k": 1, "extra": {"success": True}}


def test_lessons_start_pending_under_the_default_policy():
    ingest_lessons({"situation": "s", "action": "a"})
    assert Lesson.objects.get().review_status == ReviewStatus.PENDING


def test_empty_batch_is_refused():
    with pytest.raises(PayloadError, match="no records"):
        ingest_lessons(b"[]")


def test_it_keeps_successful_multi_turn_conversations_and_skips_the_rest_with_reasons():
    batch = [conversation("t-1"),
             conversation("t-2", succeeded=False),
             conversation("t-3", messages=[{"role": "system", "content": "sys"},
                                           {"role": "user", "content": "hi"}]),
             conversation("t-4", messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])]
    result = ingest_conversations(batch)
    assert result.created == 1
    assert [s["index"] for s in result.skipped] == [1, 2, 3]
    assert result.skipped[0]["reason"] == "task did not succeed"
    assert "fewer than 2 turns" in result.skipped[1]["reason"]
    assert result.skipped[2]["reason"] == "no assistant turn"
    assert result.ids[1:] == [None, None, None]
    saved = Conversation.objects.get()
    assert saved.task_id == "t-1" and saved.tags == ["refactor"] and len(saved.messages) == 3


def test_conversation_import_is_idempotent_and_reads_the_tasks_envelope():
    raw = json.dumps({"tasks": [conversation("t-1"), conversation("t-2", messages=[
        {"role": "user", "content": "Add a flag."}, {"role": "assistant", "content": "Added --dry-run."}])]})
    assert ingest_conversations(raw.encode()).created == 2
    again = ingest_conversations(raw.encode())
    assert (again.created, again.duplicates) == (0, 2)


def test_a_conversation_with_a_bad_role_refuses_the_batch():
    bad = conversation("t-9", messages=[{"role": "user", "content": "x"}, {"role": "robot", "content": "y"}])
    with pytest.raises(PayloadError) as caught:
        ingest_conversations([conversation("t-1"), bad])
    assert caught.value.details == ["record 1, field messages[1].role: must be one of system, user, assistant"]
    assert Conversation.objects.count() == 0


def test_the_service_refuses_a_user_who_may_not_add_experience_and_stores_nothing(viewer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied, match="Operator role"):
        ingest_lessons(json.dumps(LESSONS_STORE_EXPORT), user=viewer)
    with pytest.raises(PermissionDenied, match="Operator role"):
        ingest_conversations(json.dumps([conversation()]), user=viewer)
    assert not Lesson.objects.exists() and not Conversation.objects.exists()
