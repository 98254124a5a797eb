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
and of evaluation) goes into the journal. A replica that fails leaves the first verdict standing.
"""

from __future__ import annotations

import time

from django.conf import settings

from jobs.models import JobStatus
from professor.journal import link
from professor.models import Step, StepOutcome


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
    if (verdict.get("seed_noise") or {}).get("exam") is not None:
        return ""  # measured already
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
        return ("the verdict would promote, but the recipe's seed noise is not measured, so it rests on the "
                "practical minimum alone: the cycle never promotes on unmeasured noise")
    return ""


def measure_seed_noise(runner, run, version, evaluation):
    """When the verdict is within reach of its margin: train and evaluate seed replicas, then evaluate the
    candidate again. Returns the evaluation the policy step should carry out (the new one, or `evaluation`)."""
    why = within_reach(evaluation.verdict or {})
    if not why:
        return evaluation
    count = max(settings.PROFESSOR_SEED_REPLICAS, settings.ARENA_MIN_REPLICAS - 1)
    seed = int((run.hyperparameters or {}).get("seed") or 0)
    runner.note(Step.EVALUATION, StepOutcome.STARTED,
                f"measuring the recipe's training noise: {why}; training {count} replicas of {version.label} "
                f"(the same dataset and settings, seeds {seed + 1}-{seed + count})",
                numbers={"replicas": count, "first_seed": seed + 1})
    against = evaluation.against if evaluation.against_id else "base"
    began, cost = time.monotonic(), {"train_s": 0.0, "evaluation_s": 0.0}
    labels = []
    for k in range(1, count + 1):
        replica = _replica(runner, run, seed + k, cost)
        if replica is None:
            return evaluation
        if _evaluated(runner, replica, against, cost) is None:
            return evaluation
        labels.append(replica.label)
    again = _evaluated(runner, version, against, cost)
    if again is None:
        return evaluation
    cost["seconds"] = time.monotonic() - began
    noise = (again.verdict or {}).get("seed_noise") or {}
    numbers = {"replicas": len(labels), **{k: round(v, 1) for k, v in cost.items()},
               "decision_before": evaluation.verdict.get("decision"), "decision": again.verdict.get("decision")}
    if noise.get("exam") is not None:
        numbers["seed_sd_exam"] = noise["exam"]
    measured = (f"seed SD {noise['exam']:.4f} nats/token ({noise.get('source', '')})" if noise.get("exam") is not None
                else "the seed noise could not be measured (the replicas share too few scored items)")
    before, after = evaluation.verdict.get("decision"), again.verdict.get("decision")
    runner.note(Step.EVALUATION, StepOutcome.OK,
                f"trained and evaluated replicas {', '.join(labels)} in {cost['seconds']:.0f} s (training "
                f"{cost['train_s']:.0f} s, evaluation {cost['evaluation_s']:.0f} s); {measured}; verdict on "
                f"{version.label} again: {after} (before: {before}): " + "; ".join(again.verdict.get("reasons") or []),
                numbers=numbers, links=[link(f"evaluation {again.pk}",
                                             f"/models/{version.line.name}/{version.label}/")])
    from professor.models import Cycle

    Cycle.objects.filter(pk=runner.cycle.pk).update(evaluation_ref=again.pk)
    return again


def _replica(runner, run, seed: int, cost: dict):
    """Train one replica of `run` with `seed` and return its registered version (None: it failed, noted)."""
    from django.core.exceptions import ValidationError

    from professor.cycle import StepFailed, background_heartbeat
    from training import services as training
    from training.models import RunStatus, TrainingRun

    hp = {**(run.hyperparameters or {}), "seed": seed}
    began = time.monotonic()
    try:
        replica = training.start_run(None, dataset=run.dataset, base_model=run.base_model, hyperparameters=hp)
    except ValidationError as exc:
        runner.note(Step.EVALUATION, StepOutcome.FAILED, "a replica run was refused: " + "; ".join(exc.messages))
        return None
    run_link = link(f"run {replica.pk}", f"/training/runs/{replica.pk}/")
    runner.note(Step.TRAINING, StepOutcome.STARTED, f"started replica run {replica.pk} of run {run.pk} (seed {seed})",
                numbers={"run": replica.pk, "seed": seed}, links=[run_link], job=replica)
    if runner.in_process:
        from training.execution import execute

        with background_heartbeat(runner.cycle.pk):
            execute(replica.pk, runner.worker, on_event=lambda _event: runner._beat_during(TrainingRun, replica.pk))
        runner.heartbeat(force=True)
    else:
        runner._wait(TrainingRun, replica.pk, f"run {replica.pk}", getattr(replica, "queue_name", "") or "training",
                     Step.TRAINING, 0.7, 0.7)
    replica.refresh_from_db()
    cost["train_s"] += time.monotonic() - began
    if replica.status != RunStatus.SUCCEEDED:
        runner.note(Step.TRAINING, StepOutcome.FAILED, f"replica run {replica.pk} {replica.status}: "
                    f"{replica.human_error or 'see the run page'}; the first verdict stands", links=[run_link])
        return None
    try:
        version = runner._registered_version(replica, run_link)
    except StepFailed as exc:
        runner.note(Step.TRAINING, StepOutcome.FAILED, f"{exc.reason}; the first verdict stands", links=[run_link])
        return None
    runner.note(Step.TRAINING, StepOutcome.OK, f"replica run {replica.pk} succeeded: {version.label} (seed {seed}) "
                f"in {time.monotonic() - began:.0f} s", numbers={"run": replica.pk, "seed": seed,
                                                                 "seconds": round(time.monotonic() - began, 1)},
                links=[run_link])
    return version


def _evaluated(runner, version, against, cost: dict):
    """Evaluate `version` against `against` (a version or "base") on the line's questions; None: it failed."""
    from arena import services as arena
    from arena.models import Evaluation
    from professor.cycle import background_heartbeat

    began = time.monotonic()
    try:
        evaluation = arena.start_evaluation(version.line, version, against)
    except Exception as exc:
        runner.note(Step.EVALUATION, StepOutcome.FAILED, f"{version.label} could not be evaluated: {exc}; "
                                                         "the first verdict stands")
        return None
    if runner.in_process:
        with background_heartbeat(runner.cycle.pk):
            arena.run_evaluation(evaluation.pk, worker=runner.worker)
        runner.heartbeat(force=True)
    else:
        runner._wait(Evaluation, evaluation.pk, f"evaluation {evaluation.pk}", Evaluation.queue, Step.EVALUATION,
                     0.7, 0.7)
    evaluation.refresh_from_db()
    cost["evaluation_s"] += time.monotonic() - began
    if evaluation.status != JobStatus.SUCCEEDED or not evaluation.verdict:
        runner.note(Step.EVALUATION, StepOutcome.FAILED, f"evaluation {evaluation.pk} of {version.label} "
                    f"{evaluation.status}: {evaluation.human_error or 'no verdict'}; the first verdict stands")
        return None
    return evaluation
