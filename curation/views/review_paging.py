"""Keyset paging of the review queue: a page is the records after (or before) one record, in the queue's order.

An offset ("records 50 to 99") skips work in a filtered list: approving the first 50 pending lessons
moves the next 50 to the front, and "page 2" then starts at the 101st. A cursor names the record
a page follows instead; a record that left the filter still marks its place, because its sort
values are read from the record itself.
"""

from dataclasses import dataclass
from functools import reduce
from operator import and_, or_

from django.db.models import F, Q

from curation import feedback_filters

_NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool
    nullable: bool = False  # NULLs sort last in the queue's order (first when walking it backwards)

    def order(self, backwards: bool = False):
        expression = F(self.field).desc if self.descending != backwards else F(self.field).asc
        if not self.nullable:
            return expression()
        return expression(nulls_first=True) if backwards else expression(nulls_last=True)

    def equal(self, value) -> Q:
        return Q(**{f"{self.field}__isnull": True}) if value is None else Q(**{self.field: value})

    def beyond(self, value, backwards: bool) -> Q:
        """Records whose value of this key comes strictly after `value` in the walking direction."""
        if value is None:  # NULLs come last: nothing follows them, every value precedes them
            return Q(**{f"{self.field}__isnull": False}) if backwards else _NOTHING
        lookup = "lt" if self.descending != backwards else "gt"
        beyond = Q(**{f"{self.field}__{lookup}": value})
        return beyond | Q(**{f"{self.field}__isnull": True}) if self.nullable and not backwards else beyond


# The orders filtered_records gives each view of the queue, each ending in a unique key.
NEWEST_FIRST = (SortKey("occurred_at", descending=True), SortKey("pk", descending=True))
HARDEST_FIRST = (SortKey("feedback_loss", descending=True, nullable=True), SortKey("pk", descending=True))
SAMPLE_ORDER = (SortKey("content_key", descending=False),)


def queue_order(params) -> tuple[SortKey, ...]:
    if (params.get("sort") or "") == "loss":
        return HARDEST_FIRST
    if (params.get("sampled") or "") == "auto":
        return SAMPLE_ORDER
    return NEWEST_FIRST


@dataclass
class QueuePage:
    records: list
    total: int  # records in the filtered list
    start: int  # records of the list before the first one shown
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.start > 0

    @property
    def end(self) -> int:
        return self.start + len(self.records)

    @property
    def first(self):
        return self.records[0] if self.records else None

    @property
    def last(self):
        return self.records[-1] if self.records else None


def queue_page(records, keys, *, size: int, after: int | None = None, before: int | None = None) -> QueuePage:
    """The `size` records after record `after` (or before record `before`; else the first ones) of `records`.

    A cursor that names no record opens the list at its start: showing work twice beats skipping it.
    """
    forward = records.order_by(*(key.order() for key in keys))
    cursor, backwards = (before, True) if before is not None else (after, False)
    values = _values_of_pk(records.model, keys, cursor) if cursor is not None else None
    if values is None:
        rows = list(forward[:size])
    elif backwards:
        rows = list(records.filter(_beyond(keys, values, True)).order_by(*(k.order(True) for k in keys))[:size])
        rows.reverse()
    else:
        rows = list(forward.filter(_beyond(keys, values, False))[:size])
    if not rows:
        start = forward.filter(_beyond(keys, values, True)).count() if values is not None else 0
        return QueuePage(rows, records.count(), start, has_next=False)
    start = forward.filter(_beyond(keys, _values_of(rows[0], keys), True)).count()
    has_next = forward.filter(_beyond(keys, _values_of(rows[-1], keys), False)).exists()
    return QueuePage(rows, records.count(), start, has_next)


def _beyond(keys, values, backwards: bool) -> Q:
    """Records after (backwards: before) the one with these sort values: lexicographic over the keys."""
    alternatives = []
    for index, key in enumerate(keys):
        same_so_far = [k.equal(values[k.field]) for k in keys[:index]]
        alternatives.append(reduce(and_, [*same_so_far, key.beyond(values[key.field], backwards)]))
    return reduce(or_, alternatives)


def _values_of(record, keys) -> dict:
    return {key.field: getattr(record, key.field) for key in keys}


def _values_of_pk(model, keys, pk: int) -> dict | None:
    rows = model.objects.filter(pk=pk)
    if any(key.field == "feedback_loss" for key in keys):
        rows = feedback_filters.with_feedback_loss(rows)
    return rows.values(*(key.field for key in keys)).first()
