"""Scrub a record's fields before it is stored, and describe what was found.

The description (`secret_findings` on the row) holds counts per kind and the position of
each marker in the stored text, never a value:
    {"counts": {"password": 1}, "spans": [{"field": "action", "kind": "password", "start": 4, "end": 23}]}
"""

from collections import Counter

from curation.secrets.detector import marker_spans, scrub


class Findings:
    """Collects the findings of one record across its fields."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.spans: list[dict] = []

    def text(self, field: str, value):
        """`value` redacted (non-strings are returned as they are)."""
        if not isinstance(value, str) or not value:
            return value
        result = scrub(value)
        for finding in result.findings:
            self.counts[finding.kind] += 1
            self.spans.append({"field": field, "kind": finding.kind, "start": finding.start, "end": finding.end})
        return result.text

    def messages(self, field: str, messages):
        """Chat messages with each content redacted."""
        if not isinstance(messages, list):
            return messages
        return [{**m, "content": self.text(f"{field}.{i}.content", m.get("content"))} if isinstance(m, dict) else m
                for i, m in enumerate(messages)]

    def nested(self, field: str, value):
        """Strings anywhere inside JSON-like metadata or tags, keys included, redacted; positions
        name the dotted path (through the redacted keys)."""
        if isinstance(value, str):
            return self.text(field, value)
        if isinstance(value, dict):
            redacted = {}
            for key, item in value.items():
                key = self._key(field, key, redacted)
                redacted[key] = self.nested(f"{field}.{key}", item)
            return redacted
        if isinstance(value, list):
            return [self.nested(f"{field}.{i}", item) for i, item in enumerate(value)]
        return value

    def _key(self, field: str, key, taken: dict):
        """A mapping key redacted like a value; its findings are marked `"part": "key"`. Two keys that
        redact alike stay apart (`[REDACTED:password]`, `[REDACTED:password] 2`), so no value is lost."""
        if not isinstance(key, str) or not key:
            return key
        result = scrub(key)
        for finding in result.findings:
            self.counts[finding.kind] += 1
            self.spans.append({"field": f"{field}.{result.text}", "part": "key", "kind": finding.kind,
                               "start": finding.start, "end": finding.end})
        redacted, number = result.text, 2
        while result.findings and redacted in taken:
            redacted, number = f"{result.text} {number}", number + 1
        return redacted

    def as_json(self, **extra) -> dict:
        if not self.counts:
            return {}
        return {"counts": dict(sorted(self.counts.items())), "spans": self.spans, **extra}


# The fields of a record that are scrubbed (at ingest and by a rescrub), in order, each as what it
# holds: plain text, chat messages, or JSON-like values (strings anywhere inside, keys included).
LESSON_SCRUBBED = {**dict.fromkeys(("situation", "action", "result", "feedback", "lesson_id"), Findings.text),
                  "tags": Findings.nested, "metadata": Findings.nested}
CONVERSATION_SCRUBBED = {**dict.fromkeys(("title", "task_id"), Findings.text), "messages": Findings.messages,
                        "tags": Findings.nested, "metadata": Findings.nested}


def scrub_lesson_fields(fields: dict) -> Findings:
    """Redact a lesson's text fields (and metadata, tags) in place."""
    return _scrub_fields(fields, LESSON_SCRUBBED)


def scrub_conversation_fields(fields: dict) -> Findings:
    """Redact a conversation's messages, title and metadata in place."""
    return _scrub_fields(fields, CONVERSATION_SCRUBBED)


def _scrub_fields(fields: dict, scrubbers: dict) -> Findings:
    found = Findings()
    for name, scrub_field in scrubbers.items():
        if name in fields:
            fields[name] = scrub_field(found, name, fields[name])
    return found


def marker_positions(fields: dict) -> list[dict]:
    """The `[REDACTED:kind]` markers in stored field values (strings and chat messages)."""
    spans = []
    for name, value in fields.items():
        if isinstance(value, str):
            spans += [{"field": name, "kind": m.kind, "start": m.start, "end": m.end} for m in marker_spans(value)]
        elif name == "messages" and isinstance(value, list):
            for index, message in enumerate(value):
                content = message.get("content") if isinstance(message, dict) else None
                if isinstance(content, str):
                    spans += [{"field": f"messages.{index}.content", "kind": m.kind, "start": m.start, "end": m.end}
                              for m in marker_spans(content)]
    return spans


def merged_findings(previous: dict | None, found: Findings, fields: dict, **extra) -> dict:
    """A record's findings after a further scrub: counts added up, positions read from the markers."""
    counts = Counter((previous or {}).get("counts", {}))
    counts.update(found.counts)
    if not counts:
        return {}
    kept = {key: value for key, value in (previous or {}).items() if key not in ("counts", "spans")}
    return {**kept, "counts": dict(sorted(counts.items())), "spans": marker_positions(fields), **extra}
