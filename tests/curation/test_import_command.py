import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from curation.models import Conversation, Lesson

pytestmark = pytest.mark.django_db

EXPORT = {"lessons": [
    {"lesson_id": "l-1", "timestamp": "2026-01-01T00:00:00", "situation": "s1", "action": "a1", "result": "SUKCES",
     "feedback": "", "tags": ["x"], "metadata": {}},
    {"lesson_id": "l-2", "timestamp": "2026-01-02T00:00:00", "situation": "s2", "action": "a2", "result": "",
     "feedback": "", "tags": [], "metadata": {}},
]}


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_lessons_prints_counts_and_is_idempotent(tmp_path):
    path = tmp_path / "lessons.json"
    path.write_text(json.dumps(EXPORT))
    assert "created 2, duplicates 0" in run("import_lessons", str(path), "--origin", "memory")
    assert "created 0, duplicates 2" in run("import_lessons", str(path))
    assert set(Lesson.objects.values_list("origin", flat=True)) == {"memory"}


def test_import_lessons_fails_with_the_per_record_problems(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"situation": "s1", "action": "a1"}\n{"situation": "s\xff2", "action": "a2"}\n')
    with pytest.raises(CommandError) as caught:
        run("import_lessons", str(path))
    assert "record 1, field situation: text is not valid UTF-8" in str(caught.value)
    assert Lesson.objects.count() == 0


def test_import_lessons_names_a_missing_file_and_a_bad_origin(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run("import_lessons", str(tmp_path / "missing.json"))
    path = tmp_path / "l.json"
    path.write_text(json.dumps(EXPORT))
    with pytest.raises(CommandError, match="--origin"):
        run("import_lessons", str(path), "--origin", "../x")


def test_import_tasks_reports_skipped_conversations(tmp_path):
    path = tmp_path / "tasks.jsonl"
    rows = [{"task_id": "t-1", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
            {"task_id": "t-2", "succeeded": False, "messages": [{"role": "user", "content": "q"}]}]
    path.write_text("\n".join(json.dumps(row) for row in rows))
    out = run("import_tasks", str(path))
    assert "created 1, duplicates 0, skipped 1" in out
    assert "skipped record 1: task did not succeed" in out
    assert Conversation.objects.get().origin == "cli"
