"""Judge one generated answer: the item's check (exact, contains, regex, python) and token F1."""

import re
from collections import Counter

from django.conf import settings

from arena.scoring.sandbox import run_python

_CODE_BLOCK = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)
_TOKEN = re.compile(r"\w+|[^\w\s]")


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


def run_check(check: dict | None, answer: str, reference: str) -> dict | None:
    """{"passed": bool, "detail": str} for the item's check, or None when it has none."""
    if not check:
        return None
    kind = check["type"]
    if kind == "exact":
        want = check.get("value", reference)
        return {"passed": answer.strip() == want.strip(), "detail": ""}
    if kind == "contains":
        values = check["value"] if isinstance(check["value"], list) else [check["value"]]
        sensitive = check.get("case_sensitive", False)
        hay = answer if sensitive else answer.lower()
        missing = [v for v in values if (v if sensitive else v.lower()) not in hay]
        return {"passed": not missing, "detail": f"missing: {', '.join(missing)}" if missing else ""}
    if kind == "regex":
        return {"passed": re.search(check["pattern"], answer, re.M) is not None, "detail": ""}
    result = run_python(f"{extract_code(answer)}\n\n{check['test']}\n", timeout=float(check.get("timeout", 10)),
                        memory_mb=settings.ARENA_CHECK_MEMORY_MB)
    return {"passed": result.passed, "detail": result.status if result.passed else
            f"{result.status}: {result.output[-300:]}"}
