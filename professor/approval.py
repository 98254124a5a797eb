"""When the unattended cycle leaves a promote verdict for a person instead of carrying it out.

The Arena judges a candidate against the version it would replace, on the questions at hand. Two
promotions deserve a person's eye whatever the numbers say: the first one over the base model
(nothing the line has served so far vouches for the recipe), and one after the training data
changed a lot (the exam may no longer cover what the data now teaches).
"""

from django.conf import settings

from arena.holdouts import HoldoutError, snapshot_sources


def data_change(a, b) -> float:
    """Share of source records not in both snapshots (1 - Jaccard of their (kind, id) sets)."""
    first, second = snapshot_sources(a), snapshot_sources(b)
    union = first | second
    return 1.0 - len(first & second) / len(union) if union else 0.0


def approval_needed(evaluation) -> str:
    """Why a person must approve this promote verdict, in plain words; "" when the cycle may carry it out."""
    if evaluation.against_id is None:
        if settings.PROFESSOR_APPROVE_FIRST_PROMOTION:
            return (f"it would be line {evaluation.line.name}'s first promotion over the base model "
                    "(PROFESSOR_APPROVE_FIRST_PROMOTION)")
        return ""
    limit = settings.PROFESSOR_APPROVE_DATA_CHANGE
    candidate, against = evaluation.candidate, evaluation.against
    if limit >= 1.0 or not (candidate.dataset_id and against.dataset_id):
        return ""
    try:
        change = data_change(candidate.dataset, against.dataset)
    except HoldoutError as exc:
        return f"the training data of {candidate.label} and {against.label} cannot be compared: {exc}"
    if change > limit:
        return (f"{candidate.label}'s training data differs from {against.label}'s in {change:.0%} of source records "
                f"(PROFESSOR_APPROVE_DATA_CHANGE {limit:.0%})")
    return ""
