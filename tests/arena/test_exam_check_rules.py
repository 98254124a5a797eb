"""What an exam import refuses or redacts so that no check is slow or leaks: RE2, bounded tests, scrubbing."""

import json

import pytest

from arena.exams import DEFAULT_EXAM_PATH, MAX_PYTHON_TEST_CHARS, ExamImportError, parse_items, read_lines

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def _line(**fields) -> str:
    return json.dumps({"id": "q1", "prompt": "Name the command.", "reference": "ls", **fields})


def test_a_pattern_re2_cannot_compile_is_refused_naming_the_item_and_line():
    lines = [_line(check={"type": "regex", "pattern": "ls"}),
             json.dumps({"id": "backref", "prompt": "p", "reference": "r", "check": {"type": "regex",
                                                                                      "pattern": r"(a)\1"}}),
             json.dumps({"id": "lookahead", "prompt": "p", "reference": "r", "check": {"type": "regex",
                                                                                        "pattern": "(?=x)x"}})]
    with pytest.raises(ExamImportError) as refused:
        parse_items(lines)
    assert len(refused.value.problems) == 2
    assert refused.value.problems[0].startswith("line 2: item 'backref': 'check.pattern' is not a regular "
                                                "expression RE2 accepts")
    assert refused.value.problems[1].startswith("line 3: item 'lookahead':")


def test_the_catastrophic_pattern_is_accepted_because_re2_runs_it_in_linear_time():
    items = parse_items([_line(check={"type": "regex", "pattern": r"^[^J]*(J|Ju|Jul|July){0,24}X"})])
    assert items[0]["check"]["pattern"] == r"^[^J]*(J|Ju|Jul|July){0,24}X"


def test_a_python_test_longer_than_the_bound_is_refused():
    long_test = "assert True\n" * (MAX_PYTHON_TEST_CHARS // 12 + 1)
    with pytest.raises(ExamImportError, match=f"item 'q1': 'check.test' must be at most {MAX_PYTHON_TEST_CHARS}"):
        parse_items([_line(check={"type": "python", "test": long_test})])


def test_prompts_and_references_are_scrubbed_at_import():
    chat = [{"role": "system", "content": f"Use token {TOKEN} for the API."},
            {"role": "user", "content": "Which token?"}]
    items = parse_items([_line(prompt=f"My token is {TOKEN}, push it.", reference=f"git push with {TOKEN}"),
                         json.dumps({"id": "q2", "prompt": chat, "reference": "none"})])

    text = json.dumps(items)
    assert TOKEN not in text
    assert "[REDACTED:" in items[0]["prompt"] and "[REDACTED:" in items[0]["reference"]
    assert "[REDACTED:" in items[1]["prompt"][0]["content"] and items[1]["prompt"][1]["content"] == "Which token?"


def test_the_default_exam_passes_the_import_rules():
    lines, _ = read_lines(DEFAULT_EXAM_PATH)
    assert len(parse_items(lines)) >= 10
