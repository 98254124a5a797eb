"""Exam files as stages: read JSONL lines -> parse and check each item -> make an exam version.

Every line is checked before anything is written, and every problem is reported with its
line number; a file with any bad line imports nothing. Importing content identical to the
line's latest exam creates nothing. Prompts and references pass the secret scrubber here, in
`check_item`, so every way in (page, API, management command, admin) stores them redacted.
A regex check must compile with RE2 and a python check's test is bounded, so no exam can make a
check slow by its pattern or size.
"""

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from django.db import transaction
from django.db.models import Max

from accounts.api import JSONRefused, strict_loads
from arena.models import Exam, ExamItem
from arena.scoring.checks import CheckType, PatternError, PatternTooLarge, compile_pattern
from curation.secrets import scrub_text

DEFAULT_EXAM_PATH = Path(__file__).resolve().parent / "exams" / "default_coding.jsonl"
ROLES = ("system", "user", "assistant")
ITEM_KEYS = {"id", "category", "prompt", "reference", "check"}
MAX_PYTHON_TIMEOUT = 60
MAX_PYTHON_TEST_CHARS = 20_000
MAX_PATTERN_CHARS = 2_000


class ExamImportError(ValueError):
    """The exam file has bad lines; `problems` names each by its line number."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def read_lines(path_or_lines) -> tuple[list[str], str]:
    """(text lines, source name) from a path or any iterable of lines."""
    if isinstance(path_or_lines, str | Path):
        path = Path(path_or_lines)
        try:
            return path.read_text(encoding="utf-8").splitlines(), path.name
        except (OSError, UnicodeDecodeError) as exc:
            raise ExamImportError([f"cannot read {path}: {exc}"]) from exc
    return [str(line).rstrip("\n") for line in path_or_lines], ""


def parse_items(lines: Iterable[str]) -> list[dict]:
    """Check every line; return the items as canonical records or raise ExamImportError."""
    items, problems, seen = [], [], {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = strict_loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({exc.msg})")
            continue
        except JSONRefused as exc:
            problems.append(f"line {number}: {exc}")
            continue
        try:
            item = check_item(record)
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if item["id"] in seen:
            problems.append(f"line {number}: id {item['id']!r} already used on line {seen[item['id']]}")
            continue
        seen[item["id"]] = number
        items.append(item)
    if not items and not problems:
        problems.append("the file has no exam item")
    if problems:
        raise ExamImportError(problems)
    return items


def check_item(record) -> dict:
    """One exam item in canonical form; ValueError says what is wrong with it."""
    if not isinstance(record, dict):
        raise ValueError("an item must be a JSON object")
    unknown = sorted(set(record) - ITEM_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}")
    item_id = record.get("id")
    if not isinstance(item_id, str | int) or isinstance(item_id, bool) or not str(item_id).strip():
        raise ValueError("'id' must be a non-empty string")
    if len(str(item_id)) > 100:
        raise ValueError("'id' must be at most 100 characters")
    category = record.get("category", "general")
    if not isinstance(category, str) or not category.strip() or len(category) > 100:
        raise ValueError("'category' must be a non-empty string of at most 100 characters")
    reference = record.get("reference")
    if not isinstance(reference, str) or not reference.strip():
        raise ValueError("'reference' must be a non-empty string")
    item = {"id": str(item_id).strip(), "category": category.strip(),
            "prompt": _scrubbed_prompt(_check_prompt(record.get("prompt"))), "reference": scrub_text(reference)[0]}
    if record.get("check") is not None:
        try:
            item["check"] = _check_check(record["check"])
        except ValueError as exc:
            raise ValueError(f"item {item['id']!r}: {exc}") from None
    return item


def _scrubbed_prompt(prompt):
    if isinstance(prompt, str):
        return scrub_text(prompt)[0]
    return [{**message, "content": scrub_text(message["content"])[0]} for message in prompt]


def _check_prompt(prompt):
    if isinstance(prompt, str):
        if not prompt.strip():
            raise ValueError("'prompt' must not be empty")
        return prompt
    if not isinstance(prompt, list) or not prompt:
        raise ValueError("'prompt' must be a string or a non-empty list of chat messages")
    messages = []
    for index, message in enumerate(prompt):
        if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(
                message.get("content"), str):
            raise ValueError(f"'prompt' message {index} needs a role ({'/'.join(ROLES)}) and string content")
        messages.append({"role": message["role"], "content": message["content"]})
    if messages[-1]["role"] != "user":
        raise ValueError("'prompt' messages must end with a user turn")
    return messages


def _check_check(check) -> dict:
    if not isinstance(check, dict) or check.get("type") not in CheckType.values:
        raise ValueError(f"'check.type' must be one of {', '.join(CheckType.values)}")
    kind = check["type"]
    if kind == CheckType.EXACT:
        _want(check, "value", str, optional=True)
    elif kind == CheckType.CONTAINS:
        values = check.get("value")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise ValueError("'check.value' of a contains check must be a string or a list of strings")
    elif kind == CheckType.REGEX:
        _want(check, "pattern", str)
        if len(check["pattern"]) > MAX_PATTERN_CHARS:
            raise ValueError(f"'check.pattern' must be at most {MAX_PATTERN_CHARS} characters")
        try:
            compile_pattern(check["pattern"])
        except PatternTooLarge as exc:
            raise ValueError(f"'check.pattern' is too large ({exc}); write a shorter or less repetitive "
                             "pattern") from None
        except PatternError as exc:
            raise ValueError(f"'check.pattern' is not a regular expression RE2 accepts ({exc}); RE2 has no "
                             "backreferences or lookaround, and runs in time linear in the answer") from None
    else:
        _want(check, "test", str)
        if len(check["test"]) > MAX_PYTHON_TEST_CHARS:
            raise ValueError(f"'check.test' must be at most {MAX_PYTHON_TEST_CHARS} characters")
        try:
            compile(check["test"], "<check>", "exec")
        except SyntaxError as exc:
            raise ValueError(f"'check.test' is not valid Python: {exc.msg} (line {exc.lineno})") from None
        timeout = check.get("timeout", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_PYTHON_TIMEOUT:
            raise ValueError(f"'check.timeout' must be a number of seconds between 0 and {MAX_PYTHON_TIMEOUT}")
    return dict(check)


def _want(check: dict, key: str, kind, optional=False):
    if key not in check and optional:
        return
    if not isinstance(check.get(key), kind) or not check[key]:
        raise ValueError(f"'check.{key}' is required for a {check['type']} check")


def content_sha256(items: list[dict]) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def save_exam(line, items: list[dict], *, source: str = "", user=None) -> tuple[Exam, bool]:
    """Make `items` the line's latest exam: (exam, created). Same content as the latest: nothing new."""
    sha = content_sha256(items)
    with transaction.atomic():
        type(line).objects.select_for_update().filter(pk=line.pk).first()  # one exam version at a time per line
        latest = line.exams.order_by("-version").first()
        if latest is not None and latest.content_sha256 == sha:
            return latest, False
        version = (line.exams.aggregate(n=Max("version"))["n"] or 0) + 1
        exam = Exam.objects.create(line=line, version=version, content_sha256=sha, source=source[:500],
                                   created_by=user)
        ExamItem.objects.bulk_create(
            ExamItem(exam=exam, position=i, item_id=item["id"], category=item["category"], prompt=item["prompt"],
                     reference=item["reference"], check_spec=item.get("check")) for i, item in enumerate(items))
    return exam, True


def exam_records(exam: Exam) -> list[dict]:
    return [item.as_record() for item in exam.items.all()]


def to_jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
