"""Score an evaluation: both models on every exam item and holdout example, in batches.

Per side (candidate, then the version or base model it is compared against):
1. reference loss of each item's reference answer given its prompt, rendered with the
   candidate's saved prompt block exactly as in training;
2. greedy answers to the same prompts (rendered as serving renders them);
3. each exam item's check and token F1 against the reference. Checks run here, in the worker
   process that runs the evaluation job (never in the web process); a python check runs in the
   sandbox child, or is skipped with its reason (passed None: no pass, no fail) where the worker
   has no sandbox. A skipped item still counts for the reference loss.
Holdout examples that either side's training snapshot contains (by source or by content) are left out and counted,
so a contaminated comparison cannot happen silently.
"""

import dataclasses
import time
from collections.abc import Callable

from django.conf import settings

from arena.holdouts import trained_holdout_items
from arena.prompts import generation_prompt, training_texts
from arena.scoring.checks import run_check, token_f1
from arena.scoring.sandbox import sandbox_status
from models_registry.adapters import base_model_source, local_folder
from models_registry.prompting import stop_sequences


@dataclasses.dataclass
class Question:
    kind: str  # "exam" | "holdout"
    key: str
    category: str
    messages: list[dict]
    reference: str
    check: dict | None = None
    source_kind: str = ""
    source_id: int | None = None


def questions(evaluation) -> tuple[list[Question], dict]:
    """The evaluation's questions and what was used: exam and holdout versions, exclusions."""
    items = [Question("exam", i.item_id, i.category, i.messages(), i.reference, i.check_spec)
             for i in evaluation.exam.items.all()]
    context = {"exam": {"version": evaluation.exam.version, "items": len(items)}, "holdout": None}
    if evaluation.holdout_id:
        held = list(evaluation.holdout.items.all())
        # The same record or a twin of it by content (arena.holdouts.TwinIndex) in either side's snapshot.
        trained = trained_holdout_items(held, [evaluation.candidate, evaluation.against])
        kept = [h for h in held if h.pk not in trained]
        items += [Question("holdout", h.item_key, "holdout", h.messages, h.answer, None, h.source_kind, h.source_id)
                  for h in kept]
        context["holdout"] = {"version": evaluation.holdout.version, "items": len(kept),
                              "excluded_as_trained_on": len(held) - len(kept)}
    context["python_checks"] = python_checks(items)
    return items, context


def python_checks(items: list[Question]) -> dict | None:
    """How this worker runs the items' python checks: the sandbox and its limits, or why they are skipped."""
    count = sum(1 for q in items if q.check and q.check.get("type") == "python")
    if not count:
        return None
    status = sandbox_status()
    return {"items": count, "sandboxed": status.available, "skipped_reason": status.reason or None,
            "limits": status.limits or None}


def score(evaluation, items: list[Question], *, progress: Callable[..., None],
          batch_size: int | None = None) -> list[dict]:
    """Rows of per-item numbers for both sides. progress(fraction, eta_seconds=...) is the job's
    (jobs.runner.Progress): it raises JobCancelled when the evaluation is cancelled."""
    from arena.scoring.model import ScoringModel

    batch_size = batch_size or settings.ARENA_BATCH_SIZE
    candidate, against = evaluation.candidate, evaluation.against
    # Through the artifact layer: an evaluation runs on whichever worker takes it, so the base
    # model and both adapters are fetched (sha256-checked) where this host lacks them.
    model = ScoringModel(base_model_source(candidate), device=settings.ARENA_DEVICE)
    model.add_adapter("candidate", str(local_folder(candidate)))
    if against is not None:
        model.add_adapter("against", str(local_folder(against)))
    sides = [("candidate", "candidate", candidate.prompt),
             ("against", "against" if against is not None else None, (against or candidate).prompt)]
    rows = [{"kind": q.kind, "key": q.key, "category": q.category} for q in items]
    # Generation costs several times a loss pass; the weights make progress and ETA even.
    weights = {"loss": 1.0, "answers": 4.0}
    total, started, finished = sum(weights.values()) * len(sides), time.monotonic(), 0.0

    def tick(phase: str):
        def on_batch(done: int, count: int):
            fraction = (finished + weights[phase] * done / max(count, 1)) / total
            elapsed = time.monotonic() - started
            progress(fraction, eta_seconds=elapsed / fraction * (1 - fraction) if fraction else None)
        return on_batch

    for side, adapter, prompt in sides:
        add_bos = bool(prompt.get("add_bos_token"))
        pairs = [model.encode(*training_texts(prompt, q.messages, q.reference), add_bos=add_bos,
                              max_length=settings.ARENA_MAX_SEQ_LENGTH) for q in items]
        for row, loss in zip(rows, model.losses(adapter, pairs, batch_size=batch_size, on_batch=tick("loss")),
                             strict=True):
            row[f"{side}_loss"] = loss
        finished += weights["loss"]
        prompts = [model.ids(generation_prompt(prompt, q.messages), add_bos=add_bos) for q in items]
        answers = model.generate(adapter, prompts, max_new_tokens=settings.ARENA_MAX_NEW_TOKENS,
                                 stop=stop_sequences(prompt), batch_size=batch_size, on_batch=tick("answers"))
        for row, question, answer in zip(rows, items, answers, strict=True):
            checked = run_check(question.check, answer, question.reference)
            row[f"{side}_answer"] = answer
            row[f"{side}_passed"] = checked["passed"] if checked else None
            row[f"{side}_f1"] = token_f1(answer, question.reference)
            if checked and checked["detail"]:
                row["check_detail"] = (row.get("check_detail", "") + f"{side}: {checked['detail']}\n")[:4000]
        finished += weights["answers"]
    return rows
