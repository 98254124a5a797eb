"""Querysets over ExampleFeedback for the review queue and the admin: filter and sort by
"the model finds this hard" and "likely mislabelled"."""

from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from curation.models import ExampleFeedback

SIGNALS = {"hard": Q(hard=True), "mislabelled": Q(likely_mislabelled=True),
           "flagged": Q(hard=True) | Q(likely_mislabelled=True)}
KIND_OF_MODEL = {"lesson": "lesson", "conversation": "conversation", "commitexample": "commit"}


def _kind(queryset) -> str:
    return KIND_OF_MODEL[queryset.model._meta.model_name]


def with_signal(queryset, signal: str):
    """Records whose feedback carries `signal` (hard, mislabelled or flagged)."""
    feedback = ExampleFeedback.objects.filter(SIGNALS[signal], source_kind=_kind(queryset))
    return queryset.filter(pk__in=feedback.values("source_id"))


def with_feedback_loss(queryset):
    """Annotate `feedback_loss`: the loss after training, else on the holdout (None without feedback)."""
    feedback = ExampleFeedback.objects.filter(source_kind=_kind(queryset), source_id=OuterRef("pk"))
    return queryset.annotate(feedback_loss=Coalesce(Subquery(feedback.values("train_loss")[:1]),
                                                    Subquery(feedback.values("holdout_loss")[:1])))


def hardest_first(queryset):
    """Highest loss first; records without feedback last."""
    return with_feedback_loss(queryset).order_by(F("feedback_loss").desc(nulls_last=True), "-pk")
