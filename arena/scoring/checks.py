"""Judge one generated answer: the item's check (exact, contains, regex, python) and token F1.

Every check looks at most at ARENA_CHECK_MAX_ANSWER_CHARS characters of the answer. A regex is
matched by RE2 (time linear in the answer, whatever the pattern); a python check runs only in
the sandbox (arena/scoring/sandbox.py) and is skipped, with the reason, where none can run.
"""

import functools
import re
from collections import Counter

import re2
from django.conf import settings

from arena.scoring.sandbox import SandboxUnavailable, run_python, sandbox_status

_CODE_BLOCK = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)
_TOKEN = re.compile(r"\w+|[^\w\s]")
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to the importer, not logged by RE2


class PatternError(ValueError):
    """RE2 cannot compile the pattern (it has no backreferences or lookaround)."""


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str):
    """The one way a regex check's pattern is compiled: RE2, `^`/`$` at line ends (like re.M)."""
    try:
        return re2.compile(f"(?m){pattern}", _RE2_OPTIONS)
    except re2.error as exc:
        message = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(message) from None


def tokens(text: str) -> list[str]:
    """Lower-cased words and single punctuation marks."""
    return _TOKEN.findall(text.lower())


def token_f1(answer: str, reference: str) -> float:
    """Harmonic mean of token precision and recall (SQuAD style; 1.0 when both are empty)."""
    got, want = tokens(answer), tokens(reference)
    if not got or not want:
        return float(got == want)
    common = sum((Counter(got) & Counter(want)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def extract_code(answer: str) -> str:
    """The first fenced code block of the answer, else the whole answer."""
    match = _CODE_BLOCK.search(answer)
    return match.group(1) if match else answer


def _judged(passed: bool, detail: str = "") -> dict:
    return {"passed": passed, "status": "passed" if passed else "failed", "detail": detail}


def skipped(reason: str) -> dict:
    """A check that did not run: no pass, no fail (the item still counts for reference loss)."""
    return {"passed": None, "status": "skipped", "detail": f"skipped: {reason}"}


def run_check(check: dict | None, answer: str, reference: str) -> dict | None:
    """{"passed": bool | None, "status": ..., "detail": str} for the item's check, or None when it has none.

    status is "passed", "failed", "skipped" (passed None: a python check where no sandbox can
    run), or for a python check also "timeout", "memory" or "cpu" (a failure).
    """
    if not check:
        return None
    answer = answer[:settings.ARENA_CHECK_MAX_ANSWER_CHARS]
    kind = check["type"]
    if kind == "exact":
        want = check.get("value", reference)
        return _judged(answer.strip() == want.strip())
    if kind == "contains":
        values = check["value"] if isinstance(check["value"], list) else [check["value"]]
        sensitive = check.get("case_sensitive", False)
        hay = answer if sensitive else answer.lower()
        missing = [v for v in values if (v if sensitive else v.lower()) not in hay]
        return _judged(not missing, f"missing: {', '.join(missing)}" if missing else "")
    if kind == "regex":
        try:
            return _judged(compile_pattern(check["pattern"]).search(answer) is not None)
        except PatternError as exc:  # stored before patterns were checked with RE2 at import
            return skipped(f"RE2 cannot compile the pattern ({exc})")
    return _python_check(check, answer)


def _python_check(check: dict, answer: str) -> dict:
    status = sandbox_status()
    if not status.available:
        return skipped(f"no sandbox for python checks on this worker ({status.reason})")
    try:
        result = run_python(f"{extract_code(answer)}\n\n{check['test']}\n", timeout=float(check.get("timeout", 10)),
                            memory_mb=settings.ARENA_CHECK_MEMORY_MB)
    except SandboxUnavailable as exc:
        return skipped(f"the sandbox did not start ({exc})")
    return {"passed": result.passed, "status": result.status,
            "detail": result.status if result.passed else f"{result.status}: {result.output[-300:]}"}
