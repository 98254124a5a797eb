"""Training noise of a recipe, measured from replica versions: same data, same settings, other seeds.

Two retrains of one recipe that differ only in the seed differ in loss by an amount that more
exam items cannot average away. When at least ARENA_MIN_REPLICAS versions of the candidate's
recipe (the candidate included) have been scored on the same exam and holdout versions, the
seed component of their losses (and pass rates) over the items they share is that noise
(arena.stats.seed_variance: the SD of their means less the item-by-item part that the paired
interval already counts); the policy adds it to each interval, once for each trained side of
the comparison, and uses it as a floor of the margins.
"""

from django.conf import settings

from arena.models import Evaluation, EvaluationItem
from arena.stats import seed_variance
from jobs.models import JobStatus

# Settings that say how a run reports, not what it learns: replicas may differ in them.
NOT_RECIPE = {"seed", "model_line", "logging_every_steps", "save_every_steps"}


def recipe(version) -> tuple | None:
    """(dataset, base model, settings but the seed) of a trained version; None for a registered one."""
    run = version.training_run
    if run is None or run.dataset_id is None:
        return None
    hp = {k: v for k, v in (run.hyperparameters or {}).items() if k not in NOT_RECIPE}
    return run.dataset_id, run.base_model, tuple(sorted((k, repr(v)) for k, v in hp.items()))


def replica_versions(candidate) -> list:
    """Other versions of the candidate's line trained with the same recipe (any seed)."""
    key = recipe(candidate)
    if key is None:
        return []
    others = (type(candidate).objects.filter(line_id=candidate.line_id, training_run__dataset_id=key[0])
              .exclude(pk=candidate.pk).select_related("training_run").order_by("number"))
    return [v for v in others if recipe(v) == key]


def _scores(version, exam_id: int, holdout_id: int | None) -> dict:
    """{(kind, key): (loss, passed)} of `version` in its newest finished evaluation on these questions."""
    evaluation = (Evaluation.objects.filter(candidate=version, exam_id=exam_id, holdout_id=holdout_id,
                                            status=JobStatus.SUCCEEDED).order_by("-created_at", "-id").first())
    if evaluation is None:
        return {}
    return {(kind, key): (loss, passed) for kind, key, loss, passed in EvaluationItem.objects.filter(
        evaluation=evaluation).values_list("kind", "key", "candidate_loss", "candidate_passed")}


def seed_noise(evaluation, rows: list[dict]) -> dict | None:
    """Per-model seed SDs of the mean {"exam", "holdout", "pass_rate", "source", "replicas", "against_trained"}.

    None when fewer than ARENA_MIN_REPLICAS replicas were scored on these questions.

    rows: the candidate's numbers in this evaluation (kind, key, candidate_loss, candidate_passed).
    """
    replicas = replica_versions(evaluation.candidate)
    current = {(r["kind"], r["key"]): (r["candidate_loss"], r.get("candidate_passed")) for r in rows}
    scored = [(v.label, s) for v in replicas if (s := _scores(v, evaluation.exam_id, evaluation.holdout_id))]
    models = [(evaluation.candidate.label, current), *scored]
    if len(models) < settings.ARENA_MIN_REPLICAS:
        return None
    shared = set(current).intersection(*(s for _, s in scored))
    result = {"replicas": [label for label, _ in models], "items": len(shared),
              "against_trained": evaluation.against_id is not None, "sd_of_means": {}}
    for part in ("exam", "holdout"):
        keys = sorted(k for k in shared if k[0] == part)
        if len(keys) >= 2:
            measured = seed_variance([[s[k][0] for k in keys] for _, s in models])
            result[part], result["sd_of_means"][part] = measured["sd"], measured["sd_of_means"]
    checked = sorted(k for k in shared if k[0] == "exam" and all(s[k][1] is not None for _, s in models))
    if len(checked) >= 2:
        measured = seed_variance([[float(bool(s[k][1])) for k in checked] for _, s in models])
        result["pass_rate"], result["sd_of_means"]["pass_rate"] = measured["sd"], measured["sd_of_means"]
    if "exam" not in result:
        return None
    result["source"] = (f"seed component across {len(models)} replicas of the candidate's recipe ("
                        + ", ".join(result["replicas"]) + f") on {len(shared)} shared items")
    return result
