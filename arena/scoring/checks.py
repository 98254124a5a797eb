"""Judge one generated answer: the item's check (exact, contains, regex, python) and token F1.

Every check looks at most at ARENA_CHECK_MAX_ANSWER_CHARS characters of the answer. A regex is
matched by RE2 (time linear in the answer, whatever the pattern) and its compiled program is
bounded (RE2's time is linear in the answer times the program's size); a python check runs only
in the sandbox (arena/scoring/sandbox.py) and is skipped, with the reason, where none can run.
"""

import functools
import re
import secrets
from collections import Counter

import re2
from django.conf import settings
from django.db import models

from arena.scoring.sandbox import SandboxUnavailable, run_python, sandbox_status

# One run of blanks before the newline: `[ \t]*(?:python|py)?[ \t]*` split a run of spaces between two
# stars, quadratic in its length (1 s for "```" and 20,000 spaces; the answer limit may be 1,000,000).
_CODE_BLOCK = re.compile(r"```[ \t]*(?:(?:python|py)[ \t]*)?\n(.*?)(?:```|\Z)", re.S | re.I)
_TOKEN = re.compile(r"\w+|[^\w\s]")
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to the importer, not logged by RE2
# RE2 searches in time proportional to the answer times the program's size: a 421-character
# pattern of 300,000 instructions took 130 s on a 20,000-character answer here. At most 2,000
# instructions (a Unicode class like \pL is 1,200) keeps a search under a second; 1 MB (not 8)
# bounds what each of the 64 cached patterns may hold, DFA cache included.
MAX_PROGRAM_SIZE = 2_000
_RE2_OPTIONS.max_mem = 1 << 20


class CheckType(models.TextChoices):
    """The kinds of check an exam item may carry (its check's "type")."""

    EXACT = "exact", "Exact match"
    CONTAINS = "contains", "Contains"
    REGEX = "regex", "Regular expression"
    PYTHON = "python", "Python test"


class PatternError(ValueError):
    """RE2 cannot compile the pattern (it has no backreferences or lookaround)."""


class PatternTooLarge(PatternError):
    """RE2 compiles the pattern to more than MAX_PROGRAM_SIZE instructions."""


@functools.lru_cache(maxsize=64)
def compile_pattern(pattern: str):
    """The one way a regex check's pattern is compiled: RE2, `^`/`$` at line ends (like re.M)."""
    try:
        compiled = re2.compile(f"(?m){pattern}", _RE2_OPTIONS)
    except re2.error as exc:
        message = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(message) from None
    size = max(compiled.programsize, compiled.reverseprogramsize)
    if size > MAX_PROGRAM_SIZE:
        raise PatternTooLarge(f"it compiles to {size:,} RE2 instructions, more than {MAX_PROGRAM_SIZE:,}: "
                              "RE2's time grows with the answer times that size")
    return compiled


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
    if kind == CheckType.EXACT:
        want = check.get("value", reference)
        return _judged(answer.strip() == want.strip())
    if kind == CheckType.CONTAINS:
        values = check["value"] if isinstance(check["value"], list) else [check["value"]]
        sensitive = check.get("case_sensitive", False)
        hay = answer if sensitive else answer.lower()
        missing = [v for v in values if (v if sensitive else v.lower()) not in hay]
        return _judged(not missing, f"missing: {', '.join(missing)}" if missing else "")
    if kind == CheckType.REGEX:
        try:
            return _judged(compile_pattern(check["pattern"]).search(answer) is not None)
        except PatternError as exc:  # stored before the import checked patterns (RE2, then its size)
            return skipped(f"RE2 refuses the pattern ({exc})")
    return _python_check(check, answer)


# The answer runs first, as the module `answer` (not `__main__`: its `if __name__ == "__main__":`
# block is a demo, and `unittest.main()` or `sys.exit()` there would end the program before the
# test). An exit from the answer fails the check; a pass needs the test to run to its end, shown
# by a line the program prints last with a fresh nonce, so `os._exit(0)` in the answer fails too.
_PROGRAM = """import os as _os, sys as _sys, types as _types
_module = _types.ModuleType("answer")
_module.__file__ = __file__
_sys.modules["answer"] = _module
try:
    exec(compile({answer!r}, "<answer>", "exec", dont_inherit=True), _module.__dict__)
except SystemExit as _exit:
    print(f"the answer exited ({{_exit.code!r}}) before the test ran", file=_sys.stderr)
    _os._exit(1)
try:
    exec(compile({test!r}, "<test>", "exec", dont_inherit=True), _module.__dict__)
except SystemExit as _exit:
    if _exit.code not in (None, 0):
        raise
_sys.stdout.flush()
_sys.stderr.flush()
_os.write(1, b"\\n{marker}\\n")
"""


def check_program(code: str, test: str) -> tuple[str, str]:
    """(the program a python check runs, the line it prints when the test ran to its end)."""
    marker = f"arena-check-completed-{secrets.token_hex(16)}"
    return _PROGRAM.format(answer=code, test=test, marker=marker), marker


def _python_check(check: dict, answer: str) -> dict:
    status = sandbox_status()
    if not status.available:
        return skipped(f"no sandbox for python checks on this worker ({status.reason})")
    program, marker = check_program(extract_code(answer), check["test"])
    try:
        result = run_python(program, timeout=float(check.get("timeout", 10)), memory_mb=settings.ARENA_CHECK_MEMORY_MB)
    except SandboxUnavailable as exc:
        return skipped(f"the sandbox did not start ({exc})")
    output = result.output.replace(f"\n{marker}\n", "\n")
    if result.passed and marker not in result.output:
        return {"passed": False, "status": "failed",
                "detail": f"failed: the program exited 0 before the test ran to its end: {output[-250:]}"}
    return {"passed": result.passed, "status": result.status,
            "detail": result.status if result.passed else f"{result.status}: {output[-300:]}"}
