"""Checks on generated answers: exact/contains/regex (RE2), token F1, python tests in the sandbox."""

import pytest

from arena.exams import DEFAULT_EXAM_PATH, parse_items, read_lines
from arena.scoring.checks import extract_code, run_check, token_f1
from tests.arena.sandbox_support import RETURN_BOUND, Timed, require_sandbox


def test_exact_contains_and_regex_checks_judge_the_answer():
    assert run_check({"type": "exact"}, " ls \n", "ls")["passed"]
    assert not run_check({"type": "exact", "value": "ls -la"}, "ls", "ls")["passed"]
    assert run_check({"type": "contains", "value": ["group by", "LIMIT 5"]}, "SELECT .. GROUP BY x LIMIT 5", "")[
        "passed"]
    missing = run_check({"type": "contains", "value": ["wc", "-l"]}, "use cat", "")
    assert not missing["passed"] and missing["status"] == "failed" and "wc" in missing["detail"]
    assert run_check({"type": "regex", "pattern": r"^fix(\(.+\))?: "}, "fix(io): handle empty file", "")["passed"]
    assert run_check(None, "anything", "ref") is None


def test_a_regex_check_anchors_at_line_starts_like_re_multiline():
    assert run_check({"type": "regex", "pattern": r"^SELECT\b"}, "Here:\nSELECT 1;", "")["passed"]
    assert not run_check({"type": "regex", "pattern": r"^SELECT\b"}, "Here: SELECT 1;", "")["passed"]


def test_a_catastrophic_pattern_is_matched_in_linear_time():
    # With Python's re (and re.M) this is quadratic in the answer's lines: every line start makes
    # [^J]* run to the end and back; measured here, 0.5 s at 4,000 characters, about 12 s at 20,000.
    pattern = r"^[^J]*(J|Ju|Jul|July){0,24}X"
    answer = "\n" * 20_000
    with Timed() as timed:
        result = run_check({"type": "regex", "pattern": pattern}, answer, "")
    assert result["passed"] is False
    assert timed.seconds < RETURN_BOUND  # a hang guard: RE2 answers in milliseconds


def test_a_check_looks_only_at_the_first_characters_of_the_answer(settings):
    settings.ARENA_CHECK_MAX_ANSWER_CHARS = 100
    late = "a" * 150 + " needle"
    assert not run_check({"type": "contains", "value": "needle"}, late, "")["passed"]
    assert not run_check({"type": "regex", "pattern": "needle"}, late, "")["passed"]
    assert run_check({"type": "contains", "value": "needle"}, "needle " + "a" * 150, "")["passed"]


def test_token_f1_counts_shared_tokens():
    assert token_f1("Use ls to list the files.", "Use ls to list the files.") == 1.0
    assert token_f1("bread rises", "Use ls") == 0.0
    assert token_f1("use ls", "Use ls to list") == pytest.approx(2 * 1.0 * 0.5 / 1.5)


def test_a_python_check_runs_the_answers_code_block_against_the_test():
    require_sandbox()
    answer = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."
    assert extract_code(answer).strip().startswith("def add")
    passed = run_check({"type": "python", "test": "assert add(2, 3) == 5"}, answer, "")
    assert passed["passed"] and passed["status"] == "passed"
    failed = run_check({"type": "python", "test": "assert add(2, 3) == 6"}, answer, "")
    assert failed["passed"] is False and failed["status"] == "failed" and "AssertionError" in failed["detail"]


def test_a_python_check_that_runs_too_long_fails_with_its_reason():
    require_sandbox()
    result = run_check({"type": "python", "test": "import time\ntime.sleep(60)", "timeout": 1}, "x = 1", "")
    assert result["passed"] is False and result["status"] == "timeout" and "stopped after 1 s" in result["detail"]


def test_every_default_exam_reference_passes_its_own_check_in_the_sandbox():
    require_sandbox()
    lines, _ = read_lines(DEFAULT_EXAM_PATH)
    results = {item["id"]: run_check(item["check"], item["reference"], item["reference"])["status"]
               for item in parse_items(lines) if item.get("check")}
    assert results and set(results.values()) == {"passed"}, results
