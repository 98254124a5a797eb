"""Without a sandbox a python check never runs: it is skipped with the reason, shown, and counted as no check."""

import dataclasses

import pytest
from django.urls import reverse

from arena import policy, services
from arena.exams import save_exam
from arena.models import EvaluationItem
from arena.scoring import checks, sandbox
from arena.scoring.sandbox import Availability, SandboxUnavailable
from jobs.models import JobStatus
from tests.arena.factories import exam_items
from tests.arena.sandbox_support import require_sandbox
from tests.models_registry.factories import make_line, make_version

REASON = "bubblewrap (bwrap) is not installed on the worker"


@pytest.fixture
def no_sandbox(monkeypatch):
    """The probe says no sandbox; anything that would still start a check fails the test."""
    unavailable = Availability(False, REASON, "")
    monkeypatch.setattr(sandbox, "sandbox_status", lambda: unavailable)
    monkeypatch.setattr(checks, "sandbox_status", lambda: unavailable)
    monkeypatch.setattr("arena.evaluation.sandbox_status", lambda: unavailable)
    started = []

    def refuse(*args, **kwargs):
        started.append(args)
        raise AssertionError("a check process was started without a sandbox")

    monkeypatch.setattr(sandbox, "_run", refuse)
    monkeypatch.setattr(sandbox.subprocess, "Popen", refuse)
    return started


def test_a_python_check_is_skipped_with_the_reason_and_nothing_runs(no_sandbox):
    result = checks.run_check({"type": "python", "test": "assert True"}, "print('hi')", "")

    assert result == {"passed": None, "status": "skipped",
                      "detail": f"skipped: no sandbox for python checks on this worker ({REASON})"}
    assert no_sandbox == []
    with pytest.raises(SandboxUnavailable, match="not installed"):
        sandbox.run_python("print(1)")
    assert no_sandbox == []


def test_other_checks_still_run_without_a_sandbox(no_sandbox):
    assert checks.run_check({"type": "contains", "value": "ls"}, "use ls", "")["passed"] is True
    assert checks.run_check({"type": "regex", "pattern": "^use"}, "use ls", "")["passed"] is True


def test_a_skipped_check_counts_as_no_check_in_the_verdict(settings):
    settings.ARENA_BOOTSTRAP_SAMPLES = 200
    row = {"kind": "exam", "category": "python", "candidate_loss": 1.0, "against_loss": 1.1,
           "candidate_f1": 0.5, "against_f1": 0.5}
    skipped = [{**row, "key": f"s{i}", "candidate_passed": None, "against_passed": None} for i in range(4)]
    checked = [{**row, "key": f"c{i}", "candidate_passed": True, "against_passed": True} for i in range(4)]

    verdict = policy.decide(skipped + checked, candidate="v2", against="v1")

    assert verdict["metrics"]["n"] == 8  # every item counts for the reference loss
    assert verdict["metrics"]["checked"] == 4  # only the checks that ran count as checks
    assert verdict["metrics"]["candidate_pass_rate"] == 1.0


@pytest.mark.django_db
def test_an_evaluation_without_a_sandbox_shows_why_its_python_checks_were_skipped(toy, no_sandbox, settings, client,
                                                                                 alice):
    settings.ARENA_MAX_NEW_TOKENS = 4
    settings.ARENA_BOOTSTRAP_SAMPLES = 200
    line = make_line(base_model=str(toy["base"]))
    items = exam_items(4)
    for item in items[:2]:
        item["check"] = {"type": "python", "test": "assert True"}
    save_exam(line, items, source="test")
    candidate = make_version(line, adapter_src=toy["a"])

    done = services.run_evaluation(services.start_evaluation(line, candidate, "base").pk)

    assert done.status == JobStatus.SUCCEEDED
    assert no_sandbox == []
    assert done.verdict["python_checks"] == {"items": 2, "sandboxed": False, "skipped_reason": REASON,
                                             "limits": None}
    skipped = EvaluationItem.objects.filter(evaluation=done, key__in=["q0", "q1"])
    assert {(i.candidate_passed, i.against_passed) for i in skipped} == {(None, None)}
    assert all(i.candidate_loss is not None and "skipped: no sandbox" in i.check_detail for i in skipped)
    client.force_login(alice)
    page = client.get(reverse("arena_evaluation", args=[done.pk])).content.decode()
    assert "Python checks skipped" in page and REASON in page


def test_a_sandbox_that_fails_to_start_skips_the_check_instead_of_failing_the_answer(monkeypatch):
    require_sandbox()
    broken = dataclasses.replace(sandbox._setup(), flags=("--no-such-option",))
    monkeypatch.setattr(sandbox, "_setup", lambda: broken)

    result = checks.run_check({"type": "python", "test": "assert True"}, "x = 1", "")

    assert result["passed"] is None and result["status"] == "skipped"
    assert "the sandbox did not start" in result["detail"] and "--no-such-option" in result["detail"]
