"""Rescrub stored records in place: the rows kept before ingestion scrubbing (or before a rule
was added) get the same redaction as new ones.

Running it twice changes nothing the second time: text already inside a `[REDACTED:kind]`
marker is never matched again. Records whose secrets fall under a drop policy are rejected
(their text is redacted either way), quarantined ones go back to pending review.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from curation.models import CommitExample, Conversation, Lesson, ReviewStatus
from curation.secrets.policy import action_for
from curation.secrets.records import (
    CONVERSATION_SCRUBBED,
    LESSON_SCRUBBED,
    Findings,
    merged_findings,
    scrub_conversation_fields,
    scrub_lesson_fields,
)
from curation.services.ingest_schema import LESSON_TEXT_FIELDS, content_key

_CHUNK = 500
_LESSON_FIELDS = tuple(LESSON_SCRUBBED)
_CONVERSATION_FIELDS = tuple(CONVERSATION_SCRUBBED)
_COMMIT_FIELDS = ("message", "diff")


@dataclass
class RescrubReport:
    """What a rescrub changed: rows per model, secrets per kind, review changes."""

    scanned: Counter = field(default_factory=Counter)
    changed: Counter = field(default_factory=Counter)
    found: Counter = field(default_factory=Counter)
    quarantined: int = 0
    rejected: int = 0
    key_conflicts: int = 0

    def as_dict(self) -> dict:
        return {"scanned": dict(self.scanned), "changed": dict(self.changed), "found": dict(sorted(self.found.items())),
                "quarantined": self.quarantined, "rejected": self.rejected, "key_conflicts": self.key_conflicts}


def rescrub_records(*, dry_run: bool = False) -> RescrubReport:
    """Redact secrets in every stored lesson, conversation and commit example."""
    report = RescrubReport()
    for model, fields, scrub in ((Lesson, _LESSON_FIELDS, scrub_lesson_fields),
                                 (Conversation, _CONVERSATION_FIELDS, scrub_conversation_fields),
                                 (CommitExample, _COMMIT_FIELDS, _scrub_commit_fields)):
        _rescrub_model(model, fields, scrub, report, dry_run=dry_run)
    return report


def _scrub_commit_fields(fields: dict) -> Findings:
    found = Findings()
    for name in _COMMIT_FIELDS:
        fields[name] = found.text(name, fields[name])
    return found


def _rescrub_model(model, names, scrub, report: RescrubReport, *, dry_run: bool) -> None:
    label = model._meta.model_name
    rows = model.objects.order_by("pk").values("pk", "content_key", "review_status", "secret_findings", *names)
    for row in rows.iterator(chunk_size=_CHUNK):
        report.scanned[label] += 1
        fields = {name: row[name] for name in names}
        found = scrub(fields)
        if not found.counts:
            continue
        report.changed[label] += 1
        report.found.update(found.counts)
        if not dry_run:
            _save(model, row, fields, found, report)


def _save(model, row: dict, fields: dict, found: Findings, report: RescrubReport) -> None:
    findings = merged_findings(row["secret_findings"], found, fields, rescrubbed=True)
    changes = {**fields, "secret_findings": findings}
    action = action_for(found.counts)
    if action == "drop" and row["review_status"] != ReviewStatus.REJECTED:
        changes.update(review_status=ReviewStatus.REJECTED, review_note="dropped by the secret policy")
        report.rejected += 1
    elif action == "quarantine" and row["review_status"] == ReviewStatus.APPROVED:
        changes.update(review_status=ReviewStatus.PENDING,
                       review_note=f"quarantined: it held a secret ({', '.join(sorted(found.counts))})")
        findings["quarantined"] = True
        report.quarantined += 1
    key = _content_key(model, fields)
    if key and key != row["content_key"]:
        changes["content_key"] = key
    try:
        with transaction.atomic():
            model.objects.filter(pk=row["pk"]).update(**changes)
    except IntegrityError:  # the redacted text equals another record's: keep the old key, redact anyway
        changes.pop("content_key", None)
        report.key_conflicts += 1
        model.objects.filter(pk=row["pk"]).update(**changes)


def _content_key(model, fields: dict) -> str:
    # Lessons and conversations are keyed by their text; commit examples by repository and sha.
    if model is Lesson:
        return content_key("lesson", *(fields[name] for name in LESSON_TEXT_FIELDS))
    if model is Conversation:
        return content_key("conversation", *(f"{m['role']}\x1e{m['content']}" for m in fields["messages"]
                                             if isinstance(m, dict)))
    return ""
