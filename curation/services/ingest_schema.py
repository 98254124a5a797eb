"""Parsing and validation of lesson and task-conversation payloads (no database access).

A payload is JSON or JSONL bytes. Accepted shapes: one record, a list of records, an
envelope ({"lessons": [...]}, {"tasks": [...]}, {"conversations": [...]}; other envelope
keys such as the LessonsStore export's own are ignored), or one record per JSONL line.

Bytes that are not UTF-8 are decoded with surrogateescape, so parsing still succeeds and
the bad text can be reported against the record and field that hold it.
"""

import hashlib
import json
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from accounts.api import MAX_JSON_DEPTH, JSONRefused, depth_exceeds, strict_loads

ENVELOPE_KEYS = ("lessons", "tasks", "conversations")
LESSON_TEXT_FIELDS = ("situation", "action", "result", "feedback")
LESSON_KNOWN_FIELDS = {"lesson_id", "timestamp", "tags", "metadata", *LESSON_TEXT_FIELDS}
CONVERSATION_KNOWN_FIELDS = {"task_id", "title", "messages", "succeeded", "timestamp", "tags", "metadata"}
ROLES = ("system", "user", "assistant")
MAX_ID_CHARS = 200
MAX_TITLE_CHARS = 300
MAX_TAG_CHARS = 100


class PayloadError(Exception):
    """The payload cannot be used; `details` lists each problem, naming the record."""

    def __init__(self, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


@dataclass
class ParsedRecord:
    """A validated record: model field values plus its content key."""

    index: int
    fields: dict
    content_key: str


@dataclass
class Skipped:
    index: int
    reason: str


@dataclass
class Validated:
    records: list[ParsedRecord] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


# ---------------------------------------------------------------------------- parsing
def parse_payload(raw: bytes | str) -> list:
    """The list of records in a JSON or JSONL payload; PayloadError when it is not one."""
    text = raw.decode("utf-8", errors="surrogateescape") if isinstance(raw, bytes) else raw
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise PayloadError("empty payload", ["expected a JSON object, a list of objects or JSONL lines"])
    try:
        data = strict_loads(text)
    except json.JSONDecodeError as exc:
        return _parse_jsonl(text, exc)
    except JSONRefused as exc:
        raise PayloadError("JSON not accepted; nothing was imported", [str(exc)]) from None
    return unwrap(data)


def _parse_jsonl(text: str, whole_error: json.JSONDecodeError) -> list:
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    # One line, or a first line that is not JSON on its own: it was meant as one document.
    if len(lines) < 2 or not _is_json(lines[0][1]):
        raise PayloadError("malformed JSON", [f"line {whole_error.lineno} column {whole_error.colno}: "
                                              f"{whole_error.msg}"])
    records, problems = [], []
    for number, line in lines:
        try:
            records.append(strict_loads(line))
        except json.JSONDecodeError as exc:
            problems.append(f"line {number} column {exc.colno}: {exc.msg}")
        except JSONRefused as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        raise PayloadError("malformed JSONL", problems)
    return records


def _is_json(line: str) -> bool:
    try:
        strict_loads(line)
    except ValueError:  # malformed or refused: either way not a JSON line on its own
        return False
    return True


def unwrap(data) -> list:
    """Records from an already decoded JSON value (object, list or envelope)."""
    if isinstance(data, dict):
        for key in ENVELOPE_KEYS:
            if key in data and isinstance(data[key], list):
                return data[key]
        return [data]
    if isinstance(data, list):
        return data
    raise PayloadError("expected a JSON object, a list of objects or JSONL lines",
                       [f"got a JSON {type(data).__name__}"])


# ---------------------------------------------------------------------------- lessons
def validate_lessons(records: list) -> Validated:
    """Validate every record first; PayloadError lists all problems when any record is bad."""
    return _validate_all(records, _lesson, "lesson")


def _lesson(index: int, record: dict, problems: list[str]) -> ParsedRecord:
    check = _Checker(index, problems)
    fields = {name: check.text(record, name, required=name in ("situation", "action"))
              for name in LESSON_TEXT_FIELDS}
    fields["lesson_id"] = check.ident(record, "lesson_id", MAX_ID_CHARS)
    fields["tags"] = check.tags(record)
    fields["metadata"] = check.metadata(record, LESSON_KNOWN_FIELDS)
    fields["occurred_at"] = check.timestamp(record)
    key = content_key("lesson", *(fields[name] for name in LESSON_TEXT_FIELDS))
    return ParsedRecord(index, fields, key)


# ---------------------------------------------------------------------------- conversations
def validate_conversations(records: list) -> Validated:
    """Validate every record; failed or too-short conversations are skipped with a reason."""
    return _validate_all(records, _conversation, "task",
                         skip=lambda parsed: skip_reason(parsed.fields["messages"], parsed.fields["succeeded"]))


def _conversation(index: int, record: dict, problems: list[str]) -> ParsedRecord:
    check = _Checker(index, problems)
    fields = {
        "task_id": check.ident(record, "task_id", MAX_ID_CHARS),
        "title": check.ident(record, "title", MAX_TITLE_CHARS),
        "messages": check_messages(record.get("messages"), problems, prefix=f"record {index}, field messages"),
        "succeeded": check.boolean(record, "succeeded", default=True),
        "tags": check.tags(record),
        "metadata": check.metadata(record, CONVERSATION_KNOWN_FIELDS),
        "occurred_at": check.timestamp(record),
    }
    key = content_key("conversation", *(f"{m['role']}\x1e{m['content']}" for m in fields["messages"]))
    return ParsedRecord(index, fields, key)


def check_messages(value, problems: list[str], *, prefix: str = "messages") -> list[dict]:
    """Normalised [{"role", "content"}] or problems appended (also used by the edit form)."""
    if not isinstance(value, list) or not value:
        problems.append(f"{prefix}: required, a non-empty list of {{\"role\", \"content\"}} objects")
        return []
    messages = []
    for number, message in enumerate(value):
        where = f"{prefix}[{number}]"
        if not isinstance(message, dict):
            problems.append(f"{where}: must be an object with role and content")
            continue
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            problems.append(f"{where}.role: must be one of {', '.join(ROLES)}")
        if not isinstance(content, str) or not content.strip():
            problems.append(f"{where}.content: required, a non-empty string")
        elif bad := _text_problem(content):
            problems.append(f"{where}.content: {bad}")
        else:
            messages.append({"role": role, "content": content.strip()})
    return messages


def skip_reason(messages: list[dict], succeeded: bool) -> str:
    """Why a well-formed conversation is not kept, or "" when it is."""
    if not succeeded:
        return "task did not succeed"
    turns = [m for m in messages if m["role"] != "system"]
    if len(turns) < 2:
        return "fewer than 2 turns (system messages not counted)"
    if not any(m["role"] == "assistant" for m in turns):
        return "no assistant turn"
    if not any(m["role"] == "user" for m in turns):
        return "no user turn"
    return ""


# ---------------------------------------------------------------------------- shared
def normalise_text(value: str) -> str:
    """NFC, unified newlines, trailing spaces dropped, surrounding blank space removed."""
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in value.split("\n")).strip()


def content_key(kind: str, *parts: str) -> str:
    """Stable sha256 of normalised content; whitespace-only and case-preserving differences collapse."""
    normalised = [" ".join(normalise_text(part).split()) for part in parts]
    return hashlib.sha256("\x1f".join([kind, *normalised]).encode("utf-8")).hexdigest()


def _text_problem(value: str) -> str:
    # Lone surrogates come from undecodable bytes (or \udcxx escapes); NUL cannot be stored.
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return "text is not valid UTF-8"
    if "\x00" in value:
        return "text contains a NUL character"
    return ""


def _validate_all(records: list, parse, noun: str, skip=None) -> Validated:
    """Parse every record, collecting all problems; raise if any record is bad, so nothing is written."""
    result, problems, bad = Validated(), [], 0
    for index, record in enumerate(records):
        found: list[str] = []
        if isinstance(record, dict):
            parsed = parse(index, record, found)
        else:
            found.append(f"record {index}: must be a JSON object")
        if found:
            problems, bad = problems + found, bad + 1
        elif skip is not None and (reason := skip(parsed)):
            result.skipped.append(Skipped(index, reason))
        else:
            result.records.append(parsed)
    if problems:
        raise PayloadError(f"{bad} of {len(records)} {noun} record(s) invalid; nothing was imported", problems)
    return result


class _Checker:
    """Field checks for one record, appending 'record N, field F: message' problems."""

    def __init__(self, index: int, problems: list[str]):
        self.index, self.problems = index, problems

    def fail(self, name: str, message: str) -> None:
        self.problems.append(f"record {self.index}, field {name}: {message}")

    def text(self, record: dict, name: str, *, required: bool) -> str:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, "required, a non-empty string")
            return ""
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return ""
        if bad := _text_problem(value):
            self.fail(name, bad)
            return ""
        return normalise_text(value)

    def ident(self, record: dict, name: str, limit: int) -> str:
        value = record.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        value = self.text(record | {name: value}, name, required=False)
        if len(value) > limit:
            self.fail(name, f"at most {limit} characters")
        return value

    def boolean(self, record: dict, name: str, *, default: bool) -> bool:
        value = record.get(name, default)
        if not isinstance(value, bool):
            self.fail(name, "must be true or false")
            return default
        return value

    def tags(self, record: dict) -> list[str]:
        value = record.get("tags")
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            self.fail("tags", "must be a list of strings")
            return []
        tags = []
        for tag in (normalise_text(tag) for tag in value):
            if _text_problem(tag) or len(tag) > MAX_TAG_CHARS:
                self.fail("tags", f"{tag[:20]!r}: not valid UTF-8 text or over {MAX_TAG_CHARS} characters")
            elif tag and tag not in tags:
                tags.append(tag)
        return tags

    def metadata(self, record: dict, known: set[str]) -> dict:
        value = record.get("metadata")
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.fail("metadata", "must be a JSON object")
            return {}
        # Unknown top-level keys are kept rather than silently lost.
        extra = {key: item for key, item in record.items() if key not in known}
        merged = {**value, **({"extra": extra} if extra else {})}
        # Decoded payloads (the CLI, the upload form) skip the API's reader: bound the depth here
        # too, before any recursive check or the database's JSON encoder meets it.
        if depth_exceeds(merged, MAX_JSON_DEPTH):
            self.fail("metadata", f"nested too deeply: at most {MAX_JSON_DEPTH} levels of arrays and objects")
            return {}
        if _has_non_finite(merged):
            self.fail("metadata", "NaN and Infinity are not JSON numbers")
            return {}
        if _has_bad_text(merged):
            self.fail("metadata", "text is not valid UTF-8 or contains a NUL character")
            return {}
        return merged

    def timestamp(self, record: dict) -> datetime | None:
        value = record.get("timestamp")
        if value is None or value == "":
            return None
        try:
            return parse_timestamp(value)
        except ValueError as exc:
            self.fail("timestamp", str(exc))
            return None


def parse_timestamp(value) -> datetime:
    """ISO 8601 text or epoch seconds (number or numeric text) as an aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError("must be ISO 8601 text or epoch seconds")
    if isinstance(value, str):
        stripped = value.strip()
        try:
            value = float(stripped)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00") if stripped.endswith("Z")
                                                else stripped)
            except ValueError:
                raise ValueError(f"{value[:40]!r} is not ISO 8601 text or epoch seconds") from None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{value} is out of range for epoch seconds") from None
    raise ValueError("must be ISO 8601 text or epoch seconds")


def _has_non_finite(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict | list):
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


def _has_bad_text(value) -> bool:
    if isinstance(value, str):
        return bool(_text_problem(value))
    if isinstance(value, dict):
        return any(_has_bad_text(k) or _has_bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_bad_text(item) for item in value)
    return False
