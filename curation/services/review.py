"""Review of lessons and conversations: the policy for new records, decisions and edits.

This module is the one place the review policy (settings.AUTO_APPROVE_SOURCES) is read.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.roles import REVIEW_EXAMPLES, require
from curation.models import CommitExample, Conversation, Lesson, ReviewStatus
from curation.secrets.records import merged_findings, scrub_conversation_fields, scrub_lesson_fields
from curation.services.ingest_schema import check_messages, content_key, normalise_text
from jobs import broadcast

# Source kind -> model of the records a reviewer works on.
REVIEW_MODELS = {"lesson": Lesson, "conversation": Conversation, "commit": CommitExample}
_ALIASES = {"commit": "git", "lessons": "lesson", "conversations": "conversation", "tasks": "conversation",
            "task": "conversation"}


class ReviewConflict(Exception):
    """The record changed under the reviewer (another decision or edit landed first)."""


def initial_review_status(source: str) -> str:
    """The review status a new record from `source` ("lesson", "conversation", "git") starts with."""
    source = _ALIASES.get(source, source)
    return ReviewStatus.APPROVED if source in settings.AUTO_APPROVE_SOURCES else ReviewStatus.PENDING


def model_for(source: str):
    """The model reviewed under `source`, or LookupError."""
    try:
        return REVIEW_MODELS[source]
    except KeyError:
        raise LookupError(f"unknown review source {source!r}") from None


def approve(record, *, user, note: str = ""):
    """Mark one lesson or conversation approved, recording who and when."""
    return _decide(record, ReviewStatus.APPROVED, user=user, note=note)


def reject(record, *, user, note: str = ""):
    """Mark one lesson or conversation rejected; it never enters a dataset."""
    return _decide(record, ReviewStatus.REJECTED, user=user, note=note)


def _decide(record, status: str, *, user, note: str):
    _check_reviewer(user)
    if record.review_status == status:
        if record.reviewed_by_id is None:  # an auto-approved record confirmed in a sampled review
            _confirm(record, user=user, note=note)
        return record  # a repeated click changes nothing
    now = timezone.now()
    changes = {"review_status": status, "reviewed_by": user, "reviewed_at": now, "review_note": note}
    changed = type(record).objects.filter(pk=record.pk, review_status=record.review_status).update(**changes)
    if changed != 1:
        raise ReviewConflict(f"{record} was reviewed by someone else meanwhile; reload and try again")
    for name, value in changes.items():
        setattr(record, name, value)
    transaction.on_commit(broadcast.publish_overview)  # pending counters on the Overview
    return record


def _confirm(record, *, user, note: str) -> None:
    changes = {"reviewed_by": user, "reviewed_at": timezone.now(), "review_note": note}
    if type(record).objects.filter(pk=record.pk, reviewed_by__isnull=True).update(**changes) == 1:
        for name, value in changes.items():
            setattr(record, name, value)


def bulk_review(model, ids, status: str, *, user, note: str = "") -> int:
    """Set `status` on the given records (of one model); returns how many changed."""
    _check_reviewer(user)
    if status not in (ReviewStatus.APPROVED, ReviewStatus.REJECTED):
        raise ValidationError(f"cannot bulk-set status {status!r}")
    changed = (model.objects.filter(pk__in=list(ids)).exclude(review_status=status)
               .update(review_status=status, reviewed_by=user, reviewed_at=timezone.now(), review_note=note))
    if changed:
        transaction.on_commit(broadcast.publish_overview)
    return changed


def edit_lesson(lesson: Lesson, *, user, situation: str, action: str, result: str = "", feedback: str = "",
                approve_after: bool = False) -> Lesson:
    """Correct a lesson's text; its content key follows so dedup and re-imports stay right."""
    _check_reviewer(user)
    fields = {"situation": normalise_text(situation or ""), "action": normalise_text(action or ""),
              "result": normalise_text(result or ""), "feedback": normalise_text(feedback or "")}
    errors = {name: "required" for name in ("situation", "action") if not fields[name]}
    errors.update({name: "contains a NUL character" for name, value in fields.items() if "\x00" in value})
    if errors:
        raise ValidationError(errors)
    found = scrub_lesson_fields(fields)  # a reviewer may paste a secret too
    key = content_key("lesson", *fields.values())
    fields["secret_findings"] = merged_findings(lesson.secret_findings, found, dict(fields))
    return _save_edit(lesson, key, fields, user=user, approve_after=approve_after)


def edit_conversation(conversation: Conversation, *, user, messages, approve_after: bool = False) -> Conversation:
    """Correct a conversation's messages (same rules as at ingestion)."""
    _check_reviewer(user)
    problems: list[str] = []
    cleaned = check_messages(messages, problems)
    if problems:
        raise ValidationError({"messages": problems})
    fields = {"messages": cleaned}
    found = scrub_conversation_fields(fields)
    cleaned = fields["messages"]
    key = content_key("conversation", *(f"{m['role']}\x1e{m['content']}" for m in cleaned))
    fields["secret_findings"] = merged_findings(conversation.secret_findings, found, {"messages": cleaned})
    return _save_edit(conversation, key, fields, user=user, approve_after=approve_after)


def _save_edit(record, key: str, fields: dict, *, user, approve_after: bool):
    model = type(record)
    twin = model.objects.filter(content_key=key).exclude(pk=record.pk).values_list("pk", flat=True).first()
    if twin:
        raise ValidationError(f"this text is identical to {model._meta.verbose_name} #{twin}; reject this one instead")
    changes = {**fields, "content_key": key, "reviewed_by": user, "reviewed_at": timezone.now()}
    if approve_after:
        changes["review_status"] = ReviewStatus.APPROVED
    # The old content key guards against two reviewers saving over each other.
    changed = model.objects.filter(pk=record.pk, content_key=record.content_key).update(**changes)
    if changed != 1:
        raise ReviewConflict(f"{record} was edited by someone else meanwhile; reload and try again")
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def _check_reviewer(user) -> None:
    require(user, REVIEW_EXAMPLES)
