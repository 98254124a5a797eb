"""Nothing raw reaches the database or a page: secrets are redacted at every entrance."""

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.forms.models import model_to_dict

from curation.models import CommitExample, Conversation, GitRepository, Lesson, MiningJob, ReviewStatus
from curation.services.git_mining import mine_repository, register_repository, request_mining
from curation.services.ingest import ingest_lessons
from tests.curation.factories import make_commit_example, make_conversation, make_lesson
from tests.curation.git_helpers import commit, init_repo
from tests.factories import bearer, make_token

pytestmark = pytest.mark.django_db

OPENAI = "sk-proj-Xq3vR8tLmN2pK7wZ9aB4cD6eF1gH5jY0uI3oP8sT2"
PG = "pgAdm1nPass"
BEARER = "9f8E7d6C5b4A3f2E1d0C9b8A7f6E5d4C"
ADMIN = "Tr0pical-Fish"
RAW = (OPENAI, PG, BEARER, ADMIN)

LESSON = {
    "lesson_id": "l-secret",
    "situation": f"The eval failed with 401 until I exported OPENAI_API_KEY={OPENAI}.",
    "action": f"I set POSTGRES_PASSWORD={PG} in the compose file and restarted the stack.",
    "result": f"curl -H \"Authorization: Bearer {BEARER}\" https://api.internal/v1/jobs now answers 200",
    "feedback": f"FYI the admin password is {ADMIN}",
    "metadata": {"env": f"DB_PASSWORD={PG}"},
}
TASK = {"task_id": "t-secret", "title": "Wire the key", "messages": [
    {"role": "user", "content": f"Use OPENAI_API_KEY={OPENAI} for the run please"},
    {"role": "assistant", "content": f"Done; the admin password is {ADMIN} by the way."}]}


def _dump_all() -> str:
    rows = [model_to_dict(row) for model in (Lesson, Conversation, CommitExample) for row in model.objects.all()]
    rows += [{"key": row.content_key} for model in (Lesson, Conversation, CommitExample) for row in model.objects.all()]
    return json.dumps(rows, default=str)


def _assert_nothing_raw(*texts):
    stored = _dump_all()
    for secret in RAW:
        assert secret not in stored
        for text in texts:
            assert secret not in text


def test_lessons_pushed_through_the_api_are_stored_redacted_with_their_findings(client, bob):
    response = client.post("/api/v1/lessons", data=json.dumps(LESSON), content_type="application/json",
                           **bearer(make_token(bob, "Operator")))
    assert response.status_code == 201, response.content
    _assert_nothing_raw(response.content.decode())
    lesson = Lesson.objects.get()
    assert lesson.situation.endswith("OPENAI_API_KEY=[REDACTED:openai_key].")
    assert "[REDACTED:auth_header]" in lesson.result
    assert lesson.secret_findings["counts"] == {"auth_header": 1, "env_secret": 2, "openai_key": 1, "password": 1}
    for span in lesson.secret_findings["spans"]:
        if "." not in span["field"]:
            text = getattr(lesson, span["field"])
            assert text[span["start"]:span["end"]] == f"[REDACTED:{span['kind']}]"
    assert all(secret not in json.dumps(lesson.secret_findings) for secret in RAW)


def test_conversations_pushed_through_the_api_are_stored_redacted(client, bob):
    response = client.post("/api/v1/tasks", data=json.dumps(TASK), content_type="application/json",
                           **bearer(make_token(bob, "Operator")))
    assert response.status_code == 201, response.content
    _assert_nothing_raw()
    conversation = Conversation.objects.get()
    assert "[REDACTED:password]" in conversation.messages[1]["content"]
    assert conversation.secret_findings["counts"]["openai_key"] == 1


def test_the_same_secret_lesson_pushed_twice_is_a_duplicate(bob):
    first = ingest_lessons(json.dumps(LESSON), user=bob)
    again = ingest_lessons(json.dumps(LESSON), user=bob)
    assert (again.created, again.duplicates, again.ids) == (0, 1, first.ids)


def test_uploaded_lessons_are_redacted_and_the_review_page_highlights_the_markers(client, bob, carol):
    client.force_login(bob)
    upload = SimpleUploadedFile("lessons.jsonl", (json.dumps(LESSON) + "\n" + json.dumps(
        {**LESSON, "lesson_id": "l-2", "action": "Another action"})).encode())
    client.post("/lessons/upload", {"kind": "lessons", "file": upload})
    assert Lesson.objects.filter(origin="upload").count() == 2
    client.force_login(carol)
    lesson = Lesson.objects.first()
    page = client.get(f"/lessons/?status={lesson.review_status}&item={lesson.pk}").content.decode()
    _assert_nothing_raw(page)
    assert '<mark class="redacted" data-kind="openai_key"' in page
    assert "Removed before storing" in page


def test_imported_lessons_are_redacted(tmp_path):
    path = tmp_path / "lessons.json"
    path.write_text(json.dumps({"lessons": [LESSON]}))
    call_command("import_lessons", str(path), stdout=StringIO())
    _assert_nothing_raw()
    assert Lesson.objects.get().secret_findings["counts"]["openai_key"] == 1


@pytest.fixture
def mined_repo(settings, tmp_path):
    settings.GIT_ALLOWED_ROOTS = [tmp_path]
    path = init_repo(tmp_path / "project")
    commit(path, f"chore: configure the deploy (admin password is {ADMIN})",
           {"deploy/.env": f"POSTGRES_PASSWORD={PG}\nOPENAI_API_KEY={OPENAI}\nDEBUG=false\n"})
    repository = register_repository(str(path))
    stats = mine_repository(request_mining(repository, queue=False))
    MiningJob.objects.filter(repository=repository).update(status="succeeded", stats=stats)
    return repository


def test_mined_diffs_and_messages_are_redacted_and_shown_highlighted(client, carol, mined_repo):
    example = CommitExample.objects.get()
    assert "[REDACTED:openai_key]" in example.diff and "[REDACTED:password]" in example.message
    assert example.secret_findings["counts"]["openai_key"] == 1
    client.force_login(carol)
    page = client.get(f"/git/{mined_repo.pk}/").content.decode()
    _assert_nothing_raw(page)
    assert '<mark class="redacted"' in page


def test_quarantine_policy_holds_the_record_for_review(settings, bob):
    settings.SECRET_POLICY = {"default": "redact", "openai_key": "quarantine"}
    settings.AUTO_APPROVE_SOURCES = ["lesson"]
    ingest_lessons(json.dumps([LESSON, {"situation": "A plain one", "action": "Nothing secret here"}]), user=bob)
    held = Lesson.objects.get(lesson_id="l-secret")
    assert held.review_status == ReviewStatus.PENDING and held.secret_findings["quarantined"]
    assert "quarantined" in held.review_note
    assert Lesson.objects.exclude(pk=held.pk).get().review_status == ReviewStatus.APPROVED
    _assert_nothing_raw()


def test_drop_policy_stores_nothing_and_says_why(settings, bob):
    settings.SECRET_POLICY = {"default": "redact", "password": "drop"}
    result = ingest_lessons(json.dumps([{"situation": "A plain one", "action": "Nothing secret here"}, LESSON]),
                            user=bob)
    assert result.created == 1 and result.ids[1] is None
    assert result.skipped == [{"index": 1, "reason": "contains a secret: auth_header, env_secret, openai_key, "
                                                     "password"}]
    assert not Lesson.objects.filter(lesson_id="l-secret").exists()


def _raw_rows():
    lesson = make_lesson(LESSON["situation"], LESSON["action"], result=LESSON["result"])
    conversation = make_conversation(TASK["messages"])
    repository = GitRepository.objects.create(name="r", path="/tmp/rescrub-repo")
    example = make_commit_example(repository, message=f"fix: the admin password is {ADMIN}",
                                  diff=f"+POSTGRES_PASSWORD={PG}\n")
    return lesson, conversation, example


def _rescrub(*args) -> dict:
    out = StringIO()
    call_command("rescrub", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_rescrub_redacts_old_rows_in_place_and_reports_what_changed():
    lesson, conversation, example = _raw_rows()
    old_key = lesson.content_key
    assert _rescrub("--dry-run")["changed"] == {"lesson": 1, "conversation": 1, "commitexample": 1}
    assert OPENAI in Lesson.objects.get().situation  # a dry run writes nothing
    report = _rescrub()
    assert report["changed"] == {"lesson": 1, "conversation": 1, "commitexample": 1}
    assert report["found"]["openai_key"] == 2
    _assert_nothing_raw()
    lesson.refresh_from_db()
    assert lesson.content_key != old_key and lesson.secret_findings["rescrubbed"]
    text = lesson.situation
    span = next(s for s in lesson.secret_findings["spans"] if s["field"] == "situation")
    assert text[span["start"]:span["end"]] == "[REDACTED:openai_key]"


def test_rescrub_is_idempotent():
    _raw_rows()
    _rescrub()
    before = _dump_all()
    report = _rescrub()
    assert report["changed"] == {} and report["found"] == {}
    assert _dump_all() == before


def test_rescrub_applies_the_quarantine_policy_to_approved_rows(settings):
    settings.SECRET_POLICY = {"default": "redact", "openai_key": "quarantine"}
    lesson, _, _ = _raw_rows()
    report = _rescrub()
    lesson.refresh_from_db()
    assert lesson.review_status == ReviewStatus.PENDING and report["quarantined"] == 2


def test_a_secret_pasted_by_a_reviewer_is_redacted_and_counted(client, carol):
    lesson = make_lesson(status=ReviewStatus.PENDING)
    client.force_login(carol)
    response = client.post(f"/lessons/lesson/{lesson.pk}/edit", {
        "situation": "Deploy needed the key", "action": f"Exported OPENAI_API_KEY={OPENAI} and deployed",
        "result": "", "feedback": "", "next": "/lessons/"})
    assert response.status_code == 302
    lesson.refresh_from_db()
    assert lesson.action == "Exported OPENAI_API_KEY=[REDACTED:openai_key] and deployed"
    assert lesson.secret_findings["counts"] == {"openai_key": 1}
    assert lesson.secret_findings["spans"] == [{"field": "action", "kind": "openai_key", "start": 24, "end": 45}]
    _assert_nothing_raw()


def test_metadata_keys_are_redacted_like_values(bob):
    lesson = {"situation": "A plain situation", "action": "A plain action",
              "metadata": {f"OPENAI_API_KEY={OPENAI}": "set", "nested": {f"Bearer {BEARER}": 1},
                           "tokens": [{f"auth_token={BEARER}": "a", f"api_token={BEARER}": "b"}]}}
    ingest_lessons(json.dumps(lesson), user=bob)
    _assert_nothing_raw()
    stored = Lesson.objects.get()
    assert stored.metadata["OPENAI_API_KEY=[REDACTED:openai_key]"] == "set"
    assert list(stored.metadata["nested"].values()) == [1]
    assert sorted(stored.metadata["tokens"][0].values()) == ["a", "b"]  # keys that redact alike stay apart
    key_spans = [span for span in stored.secret_findings["spans"] if span.get("part") == "key"]
    assert len(key_spans) == 4 and all(secret not in json.dumps(stored.secret_findings) for secret in RAW)


def test_a_repository_name_is_stored_redacted(client, bob, settings, tmp_path):
    settings.GIT_ALLOWED_ROOTS = [tmp_path]
    path = init_repo(tmp_path / "project")
    commit(path, "feat: add the greeting module", {"greet.py": "X = 1\n"})
    response = client.post("/api/v1/git/repositories", {"path": str(path), "name": f"deploy with {OPENAI}"},
                           content_type="application/json", **bearer(make_token(bob, "Operator")))
    assert response.status_code == 201
    assert GitRepository.objects.get().name == "deploy with [REDACTED:openai_key]"
    assert OPENAI not in response.content.decode()
