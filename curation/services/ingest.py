"""Ingestion of lessons and task conversations from the API, file uploads and the CLI.

Each batch is validated as a whole before anything is written: one bad record refuses
the batch. Records are keyed by a hash of their normalised content, so importing the same
file twice creates nothing new.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.roles import INGEST_EXPERIENCE, require_unless_system
from curation.models import Conversation, Lesson
from curation.secrets.policy import action_for
from curation.secrets.records import scrub_conversation_fields, scrub_lesson_fields
from curation.services.ingest_schema import (
    LESSON_TEXT_FIELDS,
    MAX_ID_CHARS,
    MAX_TITLE_CHARS,
    PayloadError,
    Skipped,
    Validated,
    content_key,
    parse_payload,
    unwrap,
    validate_conversations,
    validate_lessons,
)
from curation.services.review import initial_review_status
from jobs import broadcast

_CHUNK = 500

__all__ = ["IngestResult", "PayloadError", "ingest_conversations", "ingest_lessons"]


@dataclass
class IngestResult:
    """Counts of one batch; `ids` follows the input order (None for a skipped record)."""

    created: int = 0
    duplicates: int = 0
    ids: list[int | None] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "duplicates": self.duplicates, "skipped": self.skipped, "ids": self.ids}


def check_ingest(actor) -> None:
    """Refuse (PermissionDenied) an actor, a user or an API principal, who may not add experience.

    actor None: the system itself (the memory import, a command run by the server's owner).
    """
    require_unless_system(actor, INGEST_EXPERIENCE)


def ingest_lessons(payload, *, user=None, origin: str = "api") -> IngestResult:
    """Import lessons from JSON/JSONL bytes or decoded JSON; PayloadError lists every problem."""
    check_ingest(user)
    records = _records(payload)
    return _store(Lesson, "lesson", validate_lessons(records), len(records), user=user, origin=origin)


def ingest_conversations(payload, *, user=None, origin: str = "api") -> IngestResult:
    """Import task conversations; failed or too-short ones are skipped with a reason."""
    check_ingest(user)
    records = _records(payload)
    return _store(Conversation, "conversation", validate_conversations(records), len(records), user=user,
                  origin=origin)


def _records(payload) -> list:
    records = parse_payload(payload) if isinstance(payload, bytes | str) else unwrap(payload)
    if not records:
        raise PayloadError("no records in the payload", ["send one object, a list of objects or JSONL lines"])
    return records


def _store(model, source: str, validated: Validated, total: int, *, user, origin: str) -> IngestResult:
    status = initial_review_status(source)
    now = timezone.now()
    _scrub(source, validated)
    by_key = {}
    for record in validated.records:  # the first of identical records in a batch wins
        by_key.setdefault(record.content_key, record)
    with transaction.atomic():
        existing = _ids_for(model, list(by_key))
        new = [model(content_key=key, origin=origin, submitted_by=user,
                     **_review_fields(record, status), **_with_time(record.fields, now))
               for key, record in by_key.items() if key not in existing]
        # ignore_conflicts: a concurrent import of the same record is a duplicate, not an error.
        model.objects.bulk_create(new, batch_size=_CHUNK, ignore_conflicts=True)
        ids = _ids_for(model, list(by_key))
        # ignore_conflicts also silences rows the database refused for another reason (SQLite's
        # JSON check, for one): count only what is there, and keep nothing if any record is missing.
        lost = [record.index for key, record in by_key.items() if key not in ids]
        if lost:
            raise PayloadError(f"{len(lost)} {source} record(s) could not be stored; nothing was imported",
                               [f"record {index}: refused by the database" for index in lost[:20]])
        if new:
            transaction.on_commit(broadcast.publish_overview)  # the Overview's counters follow
    result = IngestResult(created=len(new), duplicates=len(validated.records) - len(new),
                          skipped=[{"index": s.index, "reason": s.reason} for s in validated.skipped])
    positions = {record.index: ids.get(record.content_key) for record in validated.records}
    result.ids = [positions.get(index) for index in range(total)]
    return result


def _scrub(source: str, validated: Validated) -> None:
    """Redact secrets before anything is stored; apply the policy per kind (settings.SECRET_POLICY).

    The content key is taken from the redacted text: a hash of the raw text would let anyone
    who sees the redacted record test guesses of the secret against it.
    """
    kept = []
    for record in validated.records:
        if source == "lesson":
            found = scrub_lesson_fields(record.fields)
            key = content_key("lesson", *(record.fields[name] for name in LESSON_TEXT_FIELDS))
        else:
            found = scrub_conversation_fields(record.fields)
            record.fields["title"] = record.fields["title"][:MAX_TITLE_CHARS]
            key = content_key("conversation", *(f"{m['role']}\x1e{m['content']}" for m in record.fields["messages"]))
        record.fields["lesson_id" if source == "lesson" else "task_id"] = \
            record.fields["lesson_id" if source == "lesson" else "task_id"][:MAX_ID_CHARS]
        action = action_for(found.counts)
        if action == "drop":
            validated.skipped.append(Skipped(record.index, "contains a secret: " + ", ".join(sorted(found.counts))))
            continue
        record.fields["secret_findings"] = found.as_json(quarantined=True) if action == "quarantine" \
            else found.as_json()
        record.content_key = key
        kept.append(record)
    validated.records = kept
    validated.skipped.sort(key=lambda skipped: skipped.index)


def _review_fields(record, status: str) -> dict:
    if record.fields.get("secret_findings", {}).get("quarantined"):
        kinds = ", ".join(record.fields["secret_findings"]["counts"])
        return {"review_status": "pending", "review_note": f"quarantined: it held a secret ({kinds})"}
    return {"review_status": status}


def _with_time(fields: dict, now) -> dict:
    return {**fields, "occurred_at": fields["occurred_at"] or now}


def _ids_for(model, keys: list[str]) -> dict[str, int]:
    found = {}
    for start in range(0, len(keys), _CHUNK):
        found.update(model.objects.filter(content_key__in=keys[start:start + _CHUNK])
                     .values_list("content_key", "pk"))
    return found
