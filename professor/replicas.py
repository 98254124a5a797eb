"""Seed replicas: the cycle measures its recipe's training noise before it promotes, or when a verdict could turn on it.

Two trainings of one recipe that differ only in the seed differ in loss (arena.replicas); the
Arena's margin and intervals count that noise only once replicas of the candidate's recipe have
been scored on the same questions. With the noise unknown, a verdict that would promote rests on
the practical minimum alone, and the benchmark (docs/benchmarks.md) saw retrains of one recipe
promote over each other that way in up to 29% of pairs: so the cycle never promotes unattended on
unmeasured noise. When the noise is not yet measured and either the verdict would promote (a
promote, or the Arena's hold that says it awaits the seed noise) or a loss interval reaches into
PROFESSOR_REPLICA_REACH x the margin either way, the cycle trains PROFESSOR_SEED_REPLICAS more
seeds of the candidate's recipe (same dataset, same settings, seeds after the candidate's),
evaluates each against the same version, and evaluates the candidate again: that verdict, with
the measured noise, is the one the policy step carries out. What this cost (seconds of training
and of evaluation) goes into the journal. A replica that fails leaves the first verdict standing,
and a promotion in it then waits for a person (`unmeasured_promotion`).

These are steps of the cycle's state machine (professor.cycle): each starts one job (a replica's
run, its evaluation, the candidate's evaluation again) and the cycle waits for it; when it ends,
the next step goes on from the plan kept on the cycle (`Cycle.replicas`).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from arena.policy import noise_measured
from jobs.models import JobStatus
from professor.journal import link, run_link
from professor.models import Step, StepOutcome, Waiting
from professor.stopping import StepFailed


def within_reach(verdict: dict) -> str:
    """Why `verdict` needs the recipe's seed noise measured before it is carried out, in plain words; "" when not.

    Replicas are trained when the noise is unmeasured and the verdict would promote (a "promote", or a hold
    marked `awaits_seed_noise`: the Arena holds a promotion whose noise is unknown), however far beyond the
    margin, or when a loss interval comes within PROFESSOR_REPLICA_REACH x its margin either way. Never for a
    reject or insufficient evidence: more seeds would not change those.
    """
    if not settings.PROFESSOR_SEED_REPLICAS or not verdict:
        return ""
    if verdict.get("decision") == "reject" or verdict.get("insufficient"):
        return ""  # worse beyond the margin, or too little evidence: more seeds would not change that
    if noise_measured(verdict):
        return ""  # measured already (an assumed noise is not a measurement)
    reach = settings.PROFESSOR_REPLICA_REACH
    margins = verdict.get("margins") or {}
    for part, numbers in (("exam", verdict.get("metrics")), ("holdout", verdict.get("holdout_metrics"))):
        interval = (numbers or {}).get("difference") or {}
        delta = (margins.get(f"{part}_loss") or {}).get("delta")
        low, high = interval.get("low"), interval.get("high")
        if low is None or delta is None:
            continue
        if low < reach * delta and high > -reach * delta:
            return (f"the {part} loss interval [{low:+.4f}, {high:+.4f}] comes within {reach:g} x its margin "
                    f"({delta:.4f}) and the recipe's seed noise is not measured")
    if verdict.get("decision") == "promote" or verdict.get("awaits_seed_noise"):
        return ("the verdict would promote, but the recipe's seed noise is not measured (at most assumed): the "
                "cycle never promotes on unmeasured noise")
    return ""


def unmeasured_promotion(verdict: dict) -> str:
    """Why a promote verdict that reaches the policy step still waits for a person: its recipe's seed noise is
    not measured, because a replica step failed, was refused or could not measure it. "" when the cycle may
    carry it out (the noise measured, or replicas turned off)."""
    return within_reach(verdict) if (verdict or {}).get("decision") == "promote" else ""


def start(runner, run, version, evaluation) -> bool:
    """After the candidate's verdict: when it needs the recipe's seed noise, start training the first replica.

    True when the cycle now waits for it; False when the verdict stands as it is (the policy step carries it
    out). The plan, the replicas so far and their cost are kept on the cycle (`Cycle.replicas`), so each
    next step can be taken when the job before it ends, on whichever host that is.
    """
    why = within_reach(evaluation.verdict or {})
    if not why:
        return False
    count = max(settings.PROFESSOR_SEED_REPLICAS, settings.ARENA_MIN_REPLICAS - 1)
    seed = int((run.hyperparameters or {}).get("seed") or 0)
    runner.note(Step.EVALUATION, StepOutcome.STARTED,
                f"measuring the recipe's training noise: {why}; training {count} replicas of {version.label} "
                f"(the same dataset and settings, seeds {seed + 1}-{seed + count})",
                numbers={"replicas": count, "first_seed": seed + 1})
    plan = {"count": count, "seed": seed, "run": run.pk, "first": evaluation.pk,
            "against": evaluation.against_id or "base", "began": timezone.now().isoformat(), "labels": [],
            "train_s": 0.0, "evaluation_s": 0.0}
    return _train_next(runner, plan)


def _train_next(runner, plan: dict) -> bool:
    """Start the next replica's training run; False when it was refused (noted: the first verdict stands)."""
    from training import services as training
    from training.models import TrainingRun

    run = TrainingRun.objects.get(pk=plan["run"])
    seed = plan["seed"] + len(plan["labels"]) + 1
    hp = {**(run.hyperparameters or {}), "seed": seed}
    try:
        with transaction.atomic():
            replica = training.start_run(None, dataset=run.dataset, base_model=run.base_model, hyperparameters=hp)
            _save(runner, plan)
            runner.note(Step.TRAINING, StepOutcome.STARTED, f"started replica run {replica.pk} of run {run.pk} "
                        f"(seed {seed})", numbers={"run": replica.pk, "seed": seed}, links=[run_link(replica)],
                        job=replica)
            runner.wait(replica, Waiting.REPLICA_TRAINING)
    except ValidationError as exc:
        runner.note(Step.EVALUATION, StepOutcome.FAILED, "a replica run was refused: " + "; ".join(exc.messages))
        return False
    return True


def replica_trained(runner, replica):
    """A replica's run ended: evaluate its version. Returns None while the cycle waits for that, or the
    first evaluation (its verdict stands) when the replica failed."""
    from jobs.models import JobStatus

    plan = runner.cycle.replicas
    plan["train_s"] += _seconds(replica)
    to_run, seed = run_link(replica), (replica.hyperparameters or {}).get("seed")
    if replica.status != JobStatus.SUCCEEDED:
        runner.note(Step.TRAINING, StepOutcome.FAILED, f"replica run {replica.pk} {replica.status}: "
                    f"{replica.human_error or 'see the run page'}; the first verdict stands", links=[to_run])
        return _first(plan)
    try:
        version = runner.registered_version(replica, to_run)
    except StepFailed as exc:
        runner.note(Step.TRAINING, StepOutcome.FAILED, f"{exc.reason}; the first verdict stands", links=[to_run])
        return _first(plan)
    seconds = _seconds(replica)
    runner.note(Step.TRAINING, StepOutcome.OK, f"replica run {replica.pk} succeeded: {version.label} (seed {seed}) "
                f"in {seconds:.0f} s", numbers={"run": replica.pk, "seed": seed, "seconds": round(seconds, 1)},
                links=[to_run])
    return None if _evaluate(runner, version, plan, Waiting.REPLICA_EVALUATION) else _first(plan)


def replica_evaluated(runner, evaluation):
    """A replica's evaluation ended: train the next replica, or evaluate the candidate again after the last."""
    plan = runner.cycle.replicas
    if not _judged(runner, evaluation, plan):
        return _first(plan)
    plan["labels"].append(evaluation.candidate.label)
    if len(plan["labels"]) < plan["count"]:
        return None if _train_next(runner, plan) else _first(plan)
    return None if _evaluate(runner, runner.cycle.version, plan, Waiting.REEVALUATION) else _first(plan)


def evaluated_again(runner, again):
    """The candidate's evaluation with the measured noise ended: journal the cost; its verdict is the one
    carried out (the first one when it failed)."""
    from professor.models import Cycle

    plan = runner.cycle.replicas
    if not _judged(runner, again, plan):
        return _first(plan)
    first, version = _first(plan), runner.cycle.version
    plan["seconds"] = (timezone.now() - datetime.fromisoformat(plan["began"])).total_seconds()
    noise = (again.verdict or {}).get("seed_noise") or {}
    cost = {k: round(plan[k], 1) for k in ("train_s", "evaluation_s", "seconds")}
    numbers = {"replicas": len(plan["labels"]), **cost,
               "decision_before": first.verdict.get("decision"), "decision": again.verdict.get("decision")}
    if noise.get("exam") is not None:
        numbers["seed_sd_exam"] = noise["exam"]
    measured = (f"seed SD {noise['exam']:.4f} nats/token ({noise.get('source', '')})" if noise.get("exam") is not None
                else "the seed noise could not be measured (the replicas share too few scored items)")
    before, after = first.verdict.get("decision"), again.verdict.get("decision")
    runner.note(Step.EVALUATION, StepOutcome.OK,
                f"trained and evaluated replicas {', '.join(plan['labels'])} in {plan['seconds']:.0f} s (training "
                f"{plan['train_s']:.0f} s, evaluation {plan['evaluation_s']:.0f} s); {measured}; verdict on "
                f"{version.label} again: {after} (before: {before}): " + "; ".join(again.verdict.get("reasons") or []),
                numbers=numbers, links=[link(f"evaluation {again.pk}", again.get_absolute_url())])
    Cycle.objects.filter(pk=runner.cycle.pk).update(evaluation=again)
    return again


def _evaluate(runner, version, plan: dict, waiting: str) -> bool:
    """Start evaluating `version` against the first verdict's version on the line's questions; False: it could
    not start (noted)."""
    from arena import services as arena

    try:
        with transaction.atomic():
            evaluation = arena.start_evaluation(version.line, version, _against(plan))
            _save(runner, plan)
            runner.wait(evaluation, waiting)
    except Exception as exc:
        runner.note(Step.EVALUATION, StepOutcome.FAILED, f"{version.label} could not be evaluated: {exc}; "
                                                         "the first verdict stands")
        return False
    return True


def _judged(runner, evaluation, plan: dict) -> bool:
    """Count the evaluation's time; False (noted: the first verdict stands) when it gave no verdict."""
    plan["evaluation_s"] += _seconds(evaluation)
    _save(runner, plan)
    if evaluation.status != JobStatus.SUCCEEDED or not evaluation.verdict:
        runner.note(Step.EVALUATION, StepOutcome.FAILED, f"evaluation {evaluation.pk} of {evaluation.candidate.label} "
                    f"{evaluation.status}: {evaluation.human_error or 'no verdict'}; the first verdict stands")
        return False
    return True


def _against(plan: dict):
    from models_registry.models import ModelVersion

    return "base" if plan["against"] == "base" else ModelVersion.objects.get(pk=plan["against"])


def _first(plan: dict):
    from arena.models import Evaluation

    return Evaluation.objects.get(pk=plan["first"])


def _save(runner, plan: dict) -> None:
    from professor.models import Cycle

    Cycle.objects.filter(pk=runner.cycle.pk).update(replicas=plan)
    runner.cycle.replicas = plan


def _seconds(job) -> float:
    """From the job's start (created) to its end: what it cost the cycle, waiting for a worker included."""
    return max(0.0, ((job.finished_at or timezone.now()) - job.created_at).total_seconds())
