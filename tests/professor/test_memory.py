"""Importing the agent's lesson store from MEMORY_ROOT: only when it changed, never twice."""

import json
import os

import pytest

from curation.models import Lesson
from professor.memory import import_memory

pytestmark = pytest.mark.django_db


def store(settings, tmp_path, lessons, *, as_dict: bool = False):
    settings.MEMORY_ROOT = tmp_path / "memory"
    settings.MEMORY_ROOT.mkdir(exist_ok=True)
    body = {"version": "1.0", "lessons": ({item["lesson_id"]: item for item in lessons} if as_dict else lessons)}
    path = settings.MEMORY_ROOT / "lessons.json"
    path.write_text(json.dumps(body))
    return path


def lesson(n: int) -> dict:
    return {"lesson_id": f"l-{n}", "situation": f"the build {n} failed on a stale cache",
            "action": f"clear cache {n} and rebuild", "result": "SUKCES", "tags": ["ci"]}


def test_a_missing_store_is_reported_not_an_error(settings, tmp_path):
    settings.MEMORY_ROOT = tmp_path / "nowhere"
    result = import_memory()
    assert result.status == "missing" and "no lesson store at" in result.message


def test_it_imports_the_store_and_the_lessons_follow_the_review_rules(settings, tmp_path):
    settings.AUTO_APPROVE_SOURCES = ["git"]
    store(settings, tmp_path, [lesson(1), lesson(2)])
    result = import_memory()
    assert (result.status, result.created) == ("imported", 2)
    assert set(Lesson.objects.values_list("review_status", "origin")) == {("pending", "memory")}


def test_importing_again_is_idempotent(settings, tmp_path):
    path = store(settings, tmp_path, [lesson(1), lesson(2)])
    import_memory()
    assert import_memory().status == "unchanged"
    os.utime(path, (1, 1))  # touched, same content
    again = import_memory()
    assert again.status == "unchanged" and "content is the same" in again.message
    forced = import_memory(force=True)
    assert (forced.created, forced.duplicates) == (0, 2)
    assert Lesson.objects.count() == 2


def test_a_changed_store_imports_only_the_new_lessons(settings, tmp_path):
    store(settings, tmp_path, [lesson(1), lesson(2)])
    import_memory()
    store(settings, tmp_path, [lesson(1), lesson(2), lesson(3)])
    result = import_memory()
    assert (result.status, result.created, result.duplicates) == ("imported", 1, 2)
    assert Lesson.objects.count() == 3


def test_a_store_keyed_by_lesson_id_is_read_too(settings, tmp_path):
    store(settings, tmp_path, [lesson(7), lesson(8)], as_dict=True)
    assert import_memory().created == 2
    assert set(Lesson.objects.values_list("lesson_id", flat=True)) == {"l-7", "l-8"}


def test_an_invalid_store_is_named_and_imports_nothing(settings, tmp_path):
    store(settings, tmp_path, [lesson(1), {"lesson_id": "bad"}])
    result = import_memory()
    assert result.status == "invalid" and "could not be imported" in result.message
    assert Lesson.objects.count() == 0
