"""What the review pages and the lessons/tasks API share: filters, object access, JSON shapes."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q
from django.http import Http404

from accounts.roles import VIEW_DASHBOARD
from curation import feedback_filters
from curation.models import ReviewStatus
from curation.services.review import model_for

_SEARCH_FIELDS = {
    "lesson": ("situation", "action", "result", "feedback", "lesson_id"),
    "conversation": ("title", "task_id", "messages"),
    "commit": ("message", "diff", "commit_sha"),
}


class FilterError(ValueError):
    """A query parameter (`field`) has a value we cannot use; str() says "<field> <problem>"."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field} {problem}")
        self.field = field


def filtered_records(source: str, params) -> "tuple[object, dict]":
    """(queryset, cleaned filters) for `source` from GET-style params; FilterError on bad values."""
    model = model_for(source)
    filters = {name: (params.get(name) or "").strip()
               for name in ("status", "tag", "q", "since", "until", "origin", "signal", "sort")}
    records = model.objects.select_related("reviewed_by")
    if (params.get("sampled") or "") == "auto":
        # Sampled review of auto-approved records: never seen by a person, in content-hash order
        # (stable and unrelated to time or author, so any prefix is a fair sample).
        records = records.filter(review_status=ReviewStatus.APPROVED, reviewed_by__isnull=True).order_by("content_key")
    if filters["status"]:
        if filters["status"] not in ReviewStatus.values:
            raise FilterError("status", f"must be one of {', '.join(ReviewStatus.values)}")
        records = records.filter(review_status=filters["status"])
    if filters["tag"]:
        records = records.filter(_tag_filter(filters["tag"]))
    if filters["origin"]:
        records = records.filter(origin=filters["origin"])
    for name, lookup in (("since", "occurred_at__date__gte"), ("until", "occurred_at__date__lte")):
        if filters[name]:
            records = records.filter(**{lookup: _date(name, filters[name])})
    if filters["q"]:
        query = Q()
        for name in _SEARCH_FIELDS[source]:
            query |= Q(**{f"{name}__icontains": filters["q"]})
        records = records.filter(query)
    if filters["signal"]:
        if filters["signal"] not in feedback_filters.SIGNALS:
            raise FilterError("signal", f"must be one of {', '.join(feedback_filters.SIGNALS)}")
        records = feedback_filters.with_signal(records, filters["signal"])
    if filters["sort"] not in ("", "newest", "loss"):
        raise FilterError("sort", "must be newest or loss")
    if filters["sort"] == "loss":
        records = feedback_filters.hardest_first(records)
    return records, filters


def _tag_filter(tag: str) -> Q:
    if connection.features.supports_json_field_contains:
        return Q(tags__contains=[tag])
    # SQLite has no JSON containment; the quoted tag inside the stored list text is exact enough.
    return Q(tags__icontains=f'"{tag}"')


def _date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(name, f"must be a date like 2026-01-31, got {value[:40]!r}") from None


def _get_record_for_user(user, source: str, pk: int, perm: str = VIEW_DASHBOARD):
    """The lesson or conversation `pk`, or 404 / PermissionDenied."""
    if not user.has_perm(perm):
        raise PermissionDenied
    try:
        model = model_for(source)
    except LookupError:
        raise Http404("No such source.") from None
    record = model.objects.filter(pk=pk).first()
    if record is None:
        raise Http404(f"No such {source}.")
    return record


def _review_json(record) -> dict:
    return {
        "review_status": record.review_status,
        "reviewed_by": record.reviewed_by.username if record.reviewed_by_id else None,
        "reviewed_at": record.reviewed_at.isoformat() if record.reviewed_at else None,
        "review_note": record.review_note,
        "tags": record.tags,
        "metadata": record.metadata,
        "occurred_at": record.occurred_at.isoformat(),
        "created_at": record.created_at.isoformat(),
        "origin": record.origin,
        "content_key": record.content_key,
    }


def lesson_json(lesson) -> dict:
    return {"id": lesson.pk, "lesson_id": lesson.lesson_id, "situation": lesson.situation, "action": lesson.action,
            "result": lesson.result, "feedback": lesson.feedback, **_review_json(lesson)}


def conversation_json(conversation) -> dict:
    return {"id": conversation.pk, "task_id": conversation.task_id, "title": conversation.title,
            "messages": conversation.messages, "succeeded": conversation.succeeded, **_review_json(conversation)}
