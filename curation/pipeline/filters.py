"""Stage 3: quality filters. Each filter returns a reason name when it drops an example.

Thresholds come from the build configuration (defaults in settings: DATASET_MIN_CHARS,
DATASET_MAX_CHARS, DATASET_MAX_GARBAGE_RATIO, DATASET_DROP_FAILED).
"""

import re

# The original agent writes "SUKCES"/"✅" for success and "PORAŻKA"/"BŁĄD"/"❌" for failure.
_SUCCESS = re.compile(r"SUKCES|✅|✔|\b(?:success(?:ful(?:ly)?)?|succeeded|passed)\b", re.I)
_FAILURE = re.compile(r"PORAŻKA|BŁĄD|NIEPOWODZENIE|❌|✗|\b(?:fail(?:ed|ure|s)?|error|errors|broken)\b", re.I)
# Errors leaking into what the model would learn to write.
_ERROR_MARKERS = re.compile(
    r"Traceback \(most recent call last\)|^\s*[A-Za-z_][\w.]*(?:Error|Exception): |Segmentation fault"
    r"|thread '[^']*' panicked at|^\s*fatal: |^npm ERR!", re.M)
# UTF-8 read as Latin-1/cp1252: "Ã©", "Ä…", "Å‚", "â€™" ...
_MOJIBAKE = re.compile(r"[ÂÃÄÅâ][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a"
                       r"\u20ac\u2122]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def is_failed_outcome(outcome: str) -> bool:
    """A failure marker with no success marker. Success wins: "SUKCES: fixed the error" is kept."""
    if not outcome or _SUCCESS.search(outcome):
        return False
    return bool(_FAILURE.search(outcome))


def garbage_ratio(text: str) -> float:
    """Share of characters that betray broken encoding; any U+FFFD counts as fully broken."""
    if not text:
        return 0.0
    if "\ufffd" in text:
        return 1.0
    bad = 2 * len(_MOJIBAKE.findall(text)) + len(_CONTROL.findall(text))
    return bad / len(text)


def empty(example, text: str, config: dict) -> str | None:
    if not example.response_text().strip() or not example.prompt_text().strip():
        return "empty"
    return None


def length(example, text: str, config: dict) -> str | None:
    size = len(text.strip())
    if size < config["min_chars"]:
        return "too_short"
    if size > config["max_chars"]:
        return "too_long"
    return None


def failed_outcome(example, text: str, config: dict) -> str | None:
    if config["drop_failed"] and is_failed_outcome(example.outcome):
        return "failed_outcome"
    return None


def error_marker(example, text: str, config: dict) -> str | None:
    return "error_marker" if _ERROR_MARKERS.search(example.response_text()) else None


def encoding_garbage(example, text: str, config: dict) -> str | None:
    return "encoding_garbage" if garbage_ratio(text) > config["max_garbage_ratio"] else None


# Applied in this order; the first reason wins, so each dropped example is counted once.
FILTERS = [empty, length, failed_outcome, error_marker, encoding_garbage]


def reject_reason(example, config: dict) -> str | None:
    """The name of the first filter that rejects `example`, or None to keep it."""
    text = example.text()
    for check in FILTERS:
        reason = check(example, text, config)
        if reason:
            return reason
    return None
