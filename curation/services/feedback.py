"""Feedback from training and evaluation onto source records: which ones to re-check first.

- hard: among the examples of one run (or one evaluation's holdout), its loss is in the top
  HARD_SHARE: the model finds it hard.
- likely mislabelled: its loss stays an outlier (above the median + OUTLIER_MADS robust
  standard deviations, 1.4826 x the median absolute deviation: the outliers themselves do not
  inflate the limit as they inflate a mean + 2 SD) even after the model trained on it, or its
  answer disagrees with its neighbours (a near-identical prompt elsewhere in the same run got a
  different answer; numbers and dates are masked first, so templated rows that differ only in a
  date or a count agree).
Each record keeps its latest numbers and the reasons in plain words.
"""

import re
import statistics

from datasketch import MinHash, MinHashLSH
from django.db import transaction

from curation.models import CommitExample, Conversation, ExampleFeedback, Lesson
from curation.pipeline.dedup import shingles

HARD_SHARE = 0.1
OUTLIER_MADS = 3.0
MAD_TO_SD = 1.4826  # the median absolute deviation of a normal sample times this is its SD
NEIGHBOUR_PROMPT_JACCARD = 0.6
NEIGHBOUR_ANSWER_JACCARD = 0.2
MIN_EXAMPLES = 5  # fewer than this: no statistics, no flags
RECORD_MODELS = {"lesson": Lesson, "commit": CommitExample, "conversation": Conversation}


def _percentiles(losses: list[float]) -> list[float]:
    order = sorted(range(len(losses)), key=lambda i: losses[i])
    ranks = [0.0] * len(losses)
    for rank, index in enumerate(order):
        ranks[index] = rank / max(len(losses) - 1, 1)
    return ranks


def _outlier_limit(losses: list[float]) -> float | None:
    """median + OUTLIER_MADS robust SDs; None for too few losses or no spread at all."""
    if len(losses) < MIN_EXAMPLES:
        return None
    median = statistics.median(losses)
    deviations = [abs(loss - median) for loss in losses]
    # Over half the losses equal: the MAD is 0, so fall back to the mean absolute deviation (x1.2533 ~ SD).
    scale = MAD_TO_SD * statistics.median(deviations) or 1.2533 * statistics.fmean(deviations)
    return median + OUTLIER_MADS * scale if scale else None


def record_training_losses(run_id: int, rows: list[dict], texts: dict | None = None) -> int:
    """Store each record's loss after run `run_id` and its flags. rows: [{"kind", "id", "loss"}].

    texts: {(kind, id): (prompt, answer)} for the neighbour check (optional). Returns rows stored.
    """
    rows = [r for r in rows if r.get("kind") in RECORD_MODELS and r.get("id") is not None]
    losses = [float(r["loss"]) for r in rows]
    percentiles, limit = _percentiles(losses), _outlier_limit(losses)
    disagreeing = disagreeing_neighbours(texts or {})
    enough = len(rows) >= MIN_EXAMPLES
    with transaction.atomic():
        for row, loss, percentile in zip(rows, losses, percentiles, strict=True):
            key = (row["kind"], int(row["id"]))
            reasons = []
            if enough and percentile >= 1 - HARD_SHARE:
                reasons.append(f"loss {loss:.3f} after training is in the top {HARD_SHARE:.0%} of run {run_id}")
            if limit is not None and loss > limit:
                reasons.append(f"loss {loss:.3f} stays an outlier after training (run {run_id} limit {limit:.3f})")
            if key in disagreeing:
                reasons.append(f"its answer disagrees with a near-identical prompt ({disagreeing[key]})")
            ExampleFeedback.objects.update_or_create(source_kind=key[0], source_id=key[1], defaults={
                "train_loss": loss, "train_loss_percentile": percentile, "train_run_id": run_id,
                "hard": enough and percentile >= 1 - HARD_SHARE,
                "likely_mislabelled": (limit is not None and loss > limit) or key in disagreeing,
                "reasons": reasons})
    return len(rows)


def record_holdout_results(evaluation_id: int, rows: list[dict]) -> int:
    """Store held-out records' results of one evaluation. rows: [{"kind", "id", "loss", "f1"}]."""
    rows = [r for r in rows if r.get("kind") in RECORD_MODELS and r.get("id") is not None]
    losses = [float(r["loss"]) for r in rows]
    percentiles, limit = _percentiles(losses), _outlier_limit(losses)
    enough = len(rows) >= MIN_EXAMPLES
    with transaction.atomic():
        for row, loss, percentile in zip(rows, losses, percentiles, strict=True):
            feedback, _ = ExampleFeedback.objects.get_or_create(source_kind=row["kind"], source_id=int(row["id"]))
            reasons = [r for r in feedback.reasons if not r.startswith("held out:")]
            hard = enough and percentile >= 1 - HARD_SHARE
            if hard:
                reasons.append(f"held out: loss {loss:.3f} in the top {HARD_SHARE:.0%} of evaluation {evaluation_id}")
            if limit is not None and loss > limit:
                reasons.append(f"held out: loss {loss:.3f} is an outlier in evaluation {evaluation_id}")
            feedback.holdout_loss, feedback.holdout_f1 = loss, row.get("f1")
            feedback.holdout_evaluation_id = evaluation_id
            feedback.hard = feedback.hard or hard
            feedback.likely_mislabelled = feedback.likely_mislabelled or (limit is not None and loss > limit)
            feedback.reasons = reasons
            feedback.save()
    return len(rows)


_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b")
_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_NUMBER = re.compile(r"[-+]?\b\d+(?:[.,]\d+)*\b")


def mask(text: str) -> str:
    """Dates, times and numbers replaced by placeholders: rows of one template differ only in those."""
    return _NUMBER.sub(" <num> ", _TIME.sub(" <time> ", _DATE.sub(" <date> ", text)))


def _words(text: str) -> set[str]:
    return set(mask(text).lower().split())


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def disagreeing_neighbours(texts: dict, *, num_perm: int = 64) -> dict:
    """{(kind, id): the neighbours it disagrees with} for records whose near-identical prompts
    (word Jaccard >= NEIGHBOUR_PROMPT_JACCARD) mostly got a different answer (< NEIGHBOUR_ANSWER_JACCARD).

    MinHash LSH finds candidate pairs, so this stays near-linear on large runs.
    """
    if len(texts) < 2:
        return {}
    keys = list(texts)
    lsh = MinHashLSH(threshold=NEIGHBOUR_PROMPT_JACCARD, num_perm=num_perm)
    signatures = {}
    for index, key in enumerate(keys):
        signature = MinHash(num_perm=num_perm, seed=1)
        for shingle in shingles(mask(texts[key][0]), 2) or {b""}:
            signature.update(shingle)
        signatures[key] = signature
        lsh.insert(str(index), signature)
    found = {}
    for key in keys:
        prompt, answer = texts[key]
        agree, disagree = 0, []
        for other_index in lsh.query(signatures[key]):
            other = keys[int(other_index)]
            other_prompt, other_answer = texts[other]
            if other == key or _jaccard(_words(prompt), _words(other_prompt)) < NEIGHBOUR_PROMPT_JACCARD:
                continue
            if _jaccard(_words(answer), _words(other_answer)) < NEIGHBOUR_ANSWER_JACCARD:
                disagree.append(other)
            else:
                agree += 1
        if len(disagree) > agree:  # the majority of its neighbours answer differently
            found[key] = ", ".join(f"{kind} {pk}" for kind, pk in sorted(disagree)[:3])
    return found
