"""Exam import: a good file, bad lines named by number (nothing imported), re-import changes nothing."""

import json

import pytest
from django.core.management import CommandError, call_command

from arena import services
from arena.exams import DEFAULT_EXAM_PATH
from arena.models import Exam, ExamItem
from tests.models_registry.factories import make_line

pytestmark = pytest.mark.django_db


def _write(tmp_path, records, name="exam.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


GOOD = [
    {"id": "q1", "category": "shell", "prompt": "List files?", "reference": "ls", "check": {"type": "exact"}},
    {"id": "q2", "category": "python", "prompt": [{"role": "system", "content": "Be terse."},
                                                  {"role": "user", "content": "Add two numbers."}],
     "reference": "def add(a, b):\n    return a + b", "check": {"type": "python", "test": "assert add(1, 2) == 3"}},
    {"id": "q3", "category": "git", "prompt": "Undo a commit?", "reference": "git reset --soft HEAD~1"},
]


def test_a_good_file_becomes_exam_version_1_with_every_item(tmp_path, capsys):
    line = make_line()
    call_command("import_exam", str(_write(tmp_path, GOOD)), "--line", line.name)
    exam = Exam.objects.get(line=line)
    assert exam.version == 1
    assert [i.item_id for i in exam.items.all()] == ["q1", "q2", "q3"]
    q2 = exam.items.get(item_id="q2")
    assert q2.messages()[0] == {"role": "system", "content": "Be terse."}
    assert q2.check_spec["type"] == "python"
    assert exam.items.get(item_id="q3").check_spec is None
    assert "imported 3 items" in capsys.readouterr().out


def test_importing_the_same_file_again_changes_nothing(tmp_path, capsys):
    line = make_line()
    path = _write(tmp_path, GOOD)
    call_command("import_exam", str(path), "--line", line.name)
    call_command("import_exam", str(path), "--line", line.name)
    assert Exam.objects.filter(line=line).count() == 1
    assert ExamItem.objects.count() == 3
    assert "unchanged" in capsys.readouterr().out


def test_a_changed_file_becomes_a_new_version_and_the_old_one_stays(tmp_path):
    line = make_line()
    services.import_exam(_write(tmp_path, GOOD), line, system=True)
    changed = [*GOOD[:2], {**GOOD[2], "reference": "git reset HEAD~1"}]
    exam = services.import_exam(_write(tmp_path, changed, "b.jsonl"), line, system=True)
    assert exam.version == 2
    assert Exam.objects.get(line=line, version=1).items.get(item_id="q3").reference == "git reset --soft HEAD~1"


def test_bad_lines_are_named_by_number_and_nothing_is_imported(tmp_path):
    line = make_line()
    bad = [GOOD[0], "{not json", {"id": "q5", "prompt": "x"}, {**GOOD[1], "id": "q1"},
           {"id": "q6", "prompt": "x", "reference": "y", "check": {"type": "regex", "pattern": "("}},
           {"id": "q7", "prompt": "x", "reference": "y", "check": {"type": "python", "test": "def ("}},
           {"id": "q8", "prompt": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
            "reference": "y"}]
    with pytest.raises(CommandError) as caught:
        call_command("import_exam", str(_write(tmp_path, bad)), "--line", line.name)
    message = str(caught.value)
    assert "nothing imported" in message
    reported = dict(row.strip().split(": ", 1) for row in message.splitlines()[1:])
    assert set(reported) == {"line 2", "line 3", "line 4", "line 5", "line 6", "line 7"}
    for number, words in [(2, "not valid JSON"), (3, "'reference'"), (4, "id 'q1' already used on line 1"),
                          (5, "regular expression"), (6, "not valid Python"), (7, "end with a user turn")]:
        assert words in reported[f"line {number}"]
    assert not Exam.objects.exists() and not ExamItem.objects.exists()


def test_an_unknown_line_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no model line"):
        call_command("import_exam", str(_write(tmp_path, GOOD)), "--line", "nope")


def test_the_default_exam_has_at_least_ten_coding_questions_with_references_and_checks():
    line = make_line()
    exam = services.import_exam(DEFAULT_EXAM_PATH, line, system=True)
    items = list(exam.items.all())
    assert len(items) >= 10
    assert all(i.reference.strip() and i.check_spec for i in items)
    assert {"python", "shell", "git"} <= {i.category for i in items}
    assert services.ensure_exam(line).pk == exam.pk


def test_numbers_json_has_not_and_huge_integers_are_named_by_line_not_crashed():
    from arena.exams import ExamImportError, parse_items

    good = json.dumps({"id": "q1", "prompt": "p", "reference": "r"})
    lines = [good, '{"id": "q2", "prompt": "p", "reference": "r", "category": NaN}',
             '{"id": ' + "9" * 5000 + ', "prompt": "p", "reference": "r"}']
    with pytest.raises(ExamImportError) as caught:
        parse_items(lines)
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("line 2:") and "NaN" in problems[0]
    assert problems[1].startswith("line 3:") and "5000 digits" in problems[1]
