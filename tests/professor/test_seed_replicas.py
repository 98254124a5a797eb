"""The cycle measures its recipe's training noise before it promotes, and when a verdict comes within reach of its
margin: it trains seed replicas of the candidate, evaluates them and the candidate again, and journals the cost."""

import re

import pytest
from django.core.management import call_command

from arena.models import Evaluation
from models_registry.models import ModelLine
from professor.cycle import run_cycle, start_cycle
from professor.models import Cycle
from professor.replicas import within_reach
from tests.professor.test_cycle import domain_exam, domain_lessons, loop_settings  # noqa: F401 - a fixture


def verdict(low, high, *, delta=0.05, decision="hold", **extra):
    return {"decision": decision, "insufficient": [], "seed_noise": {"source": "unknown"},
            "metrics": {"difference": {"low": low, "high": high}}, "margins": {"exam_loss": {"delta": delta}},
            **extra}


def test_a_verdict_near_its_margin_with_unknown_noise_is_within_reach(settings):
    settings.PROFESSOR_REPLICA_REACH = 3.0
    assert "the exam loss interval [+0.0100, +0.0900] comes within 3 x its margin (0.0500)" in within_reach(
        verdict(0.01, 0.09))
    assert within_reach(verdict(0.10, 0.30, decision="promote"))  # low 0.10 < 3 x 0.05: seed noise could explain it


def test_a_promote_far_beyond_its_margin_with_unknown_noise_still_trains_replicas(settings):
    settings.PROFESSOR_REPLICA_REACH = 3.0
    why = within_reach(verdict(0.5, 0.9, decision="promote"))  # 10 x the margin: the reach rule alone would not
    assert why == ("the verdict would promote, but the recipe's seed noise is not measured (at most assumed): the "
                   "cycle never promotes on unmeasured noise")
    assert within_reach(verdict(0.5, 0.9, awaits_seed_noise=True)) == why  # the Arena's hold of such a promotion
    assumed = {"exam": 0.05, "assumed": True, "source": "assumed 0.05 nats/token"}
    assert within_reach(verdict(0.5, 0.9, decision="promote", seed_noise=assumed)) == why  # an assumption
    assert within_reach(verdict(0.5, 0.9, decision="promote", seed_noise={"exam": 0.01})) == ""  # measured


def test_a_clear_verdict_measured_noise_or_too_little_evidence_is_not(settings):
    settings.PROFESSOR_REPLICA_REACH = 3.0
    assert within_reach(verdict(0.5, 0.9)) == ""  # a hold far beyond the margin that would not promote
    assert within_reach(verdict(-0.9, -0.5, decision="reject")) == ""
    assert within_reach(verdict(0.01, 0.09, seed_noise={"exam": 0.01})) == ""
    assert within_reach(verdict(0.01, 0.09, insufficient=["the exam has 5 items"])) == ""
    settings.PROFESSOR_SEED_REPLICAS = 0
    assert within_reach(verdict(0.01, 0.09)) == ""


@pytest.mark.django_db
@pytest.mark.timeout(1800)  # three toy trainings and three evaluations on a busy machine
def test_the_cycle_trains_replicas_and_decides_again_with_the_measured_noise(loop_settings):  # noqa: F811
    from training.base_models import default_base_model

    loop_settings.ARENA_SEED_SD = 0.0  # the noise unknown: the replicas measure it
    loop_settings.ARENA_MIN_REPLICAS = 2  # one replica measures (a third version would only add minutes here)
    loop_settings.PROFESSOR_SEED_REPLICAS = 1
    loop_settings.PROFESSOR_REPLICA_REACH = 1000.0  # every toy verdict is "within reach"
    domain_lessons(48)
    line = ModelLine.objects.create(name="default", base_model=default_base_model())
    domain_exam(line)

    call_command("professor", "cycle", "--wait", "--in-process")

    cycle = Cycle.objects.get()
    assert cycle.status == "succeeded", cycle.summary
    versions = list(line.versions.order_by("number"))
    assert [v.label for v in versions] == ["v1", "v2"]
    seeds = [v.training_run.hyperparameters["seed"] for v in versions]
    assert seeds[1] == seeds[0] + 1
    assert cycle.version == versions[0]
    final = Evaluation.objects.get(pk=cycle.evaluation_id)
    assert final.candidate == versions[0]
    assert Evaluation.objects.filter(candidate=versions[0]).count() == 2
    noise = final.verdict["seed_noise"]
    assert noise["exam"] is not None and noise["replicas"] == ["v1", "v2"]
    assert noise["against_trained"] is False  # the first version is compared with the base model
    entry = cycle.journal.get(message__startswith="trained and evaluated replicas v2 in ")
    assert entry.numbers["replicas"] == 1
    assert entry.numbers["train_s"] > 0 and entry.numbers["evaluation_s"] > 0
    assert re.search(r"in \d+ s \(training \d+ s, evaluation \d+ s\)", entry.message)  # the cost, said in words
    assert entry.numbers["decision"] == final.verdict["decision"]
    assert cycle.journal.filter(message__startswith="measuring the recipe's training noise: the exam loss").exists()
    assert cycle.journal.last().step == "policy"


@pytest.mark.django_db
def test_a_replica_that_fails_leaves_the_first_verdict_standing(loop_settings, monkeypatch):  # noqa: F811
    from training.base_models import default_base_model

    loop_settings.ARENA_SEED_SD = 0.0  # the noise unknown: the replicas measure it
    loop_settings.PROFESSOR_SEED_REPLICAS = 2
    loop_settings.PROFESSOR_REPLICA_REACH = 1000.0
    domain_lessons(48)
    line = ModelLine.objects.create(name="default", base_model=default_base_model())
    domain_exam(line)
    cycle = start_cycle(None, queue=False)
    from training import services as training

    real = training.start_run

    def refuse_replicas(user, **kwargs):
        from training.models import TrainingRun

        if TrainingRun.objects.exists():  # the candidate's run exists: this is a replica
            from django.core.exceptions import ValidationError

            raise ValidationError("no capacity for another run")
        return real(user, **kwargs)

    monkeypatch.setattr(training, "start_run", refuse_replicas)
    run_cycle(cycle.pk, in_process=True)
    cycle.refresh_from_db()
    assert cycle.status == "succeeded"
    assert line.versions.count() == 1
    first = Evaluation.objects.get(candidate=cycle.version)
    assert cycle.evaluation_id == first.pk
    assert cycle.journal.filter(message="a replica run was refused: no capacity for another run").exists()


def test_a_promotion_whose_noise_is_still_unmeasured_at_the_policy_step_waits_for_a_person(db, settings):
    """A replica step that failed leaves the first verdict standing: a promote in it is not carried out alone."""
    from arena.models import Decision
    from professor.cycle import _Runner
    from professor.models import Outcome
    from professor.replicas import unmeasured_promotion
    from tests.arena.factories import make_evaluation
    from tests.models_registry.factories import make_line, make_version

    settings.PROFESSOR_SEED_REPLICAS = 5
    settings.PROFESSOR_APPROVE_FIRST_PROMOTION = False  # only the noise can hold it
    line = make_line()
    candidate = make_version(line)
    evaluation = make_evaluation(candidate, None, decision=Decision.PROMOTE)  # its verdict has no measured noise
    cycle = Cycle.objects.create(status="running", line=line.name)

    outcome, text = _Runner(cycle).apply(evaluation, candidate)

    assert outcome == Outcome.HELD
    assert text.startswith(f"{candidate.label} is held for a person to approve its promotion: ")
    assert "seed noise is not measured" in text
    candidate.refresh_from_db()
    assert candidate.status != "active" and line.active_version() is None
    entry = cycle.journal.get()
    assert entry.step == "policy" and entry.numbers == {"decision": "promote", "applied": "awaiting approval"}
    measured = {**evaluation.verdict, "seed_noise": {"exam": 0.01, "source": "replicas"}}
    assert unmeasured_promotion(measured) == ""
    assert unmeasured_promotion({**evaluation.verdict, "decision": "hold"}) == ""
    settings.PROFESSOR_SEED_REPLICAS = 0  # replicas turned off: the operator chose to promote on the margin alone
    assert unmeasured_promotion(evaluation.verdict) == ""
