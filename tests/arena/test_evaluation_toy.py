"""End to end on the toy model: a domain-trained candidate beats the base model; a planted bad one is held back."""

import pytest
from django.core.management import call_command

from arena import services
from arena.models import Evaluation, EvaluationItem
from models_registry.models import VersionStatus
from tests.arena.factories import make_exam, make_line_on_toy, register_trained, verdict_from_json

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _small_runs(settings):
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    settings.ARENA_MAX_NEW_TOKENS = 12
    settings.ARENA_BATCH_SIZE = 4
    settings.ARENA_BOOTSTRAP_SAMPLES = 500
    # The toy recipe's seed SD as bench/arena_policy.py measured it: with the noise unknown a promotion is held
    # (tests/arena/test_policy_unknown_noise.py), and these tests are about what the evaluation measures.
    settings.ARENA_SEED_SD = 0.014


def test_a_candidate_trained_on_the_exam_domain_is_promoted_over_the_base_model(capsys):
    line = make_line_on_toy()
    make_exam(line, count=24)  # the policy needs 20 exam items before it promotes
    good = register_trained(line.name, "domain")
    assert line.active_version() is None

    call_command("evaluate", line.name, good.label, "--json", "--apply", "--in-process")

    verdict = verdict_from_json(capsys.readouterr().out)
    assert verdict["decision"] == "promote", verdict["reasons"]
    assert verdict["candidate"] == good.label and verdict["against"] == "base"
    assert verdict["metrics"]["difference"]["low"] > 0
    assert set(verdict["categories"]) == {"files", "folders"}
    assert verdict["exam"] == {"version": 1, "items": 24}
    good.refresh_from_db()
    assert good.status == VersionStatus.ACTIVE
    assert good.metrics["arena"]["decision"] == "promote"
    activation = line.activations.get()
    assert activation.arena["decision"] == "promote" and activation.arena["difference"]["low"] > 0
    assert not activation.policy_overridden
    evaluation = Evaluation.objects.get()
    assert evaluation.applied == "promoted"
    item = EvaluationItem.objects.filter(evaluation=evaluation).first()
    assert item.candidate_loss < item.against_loss and item.candidate_answer is not None


def test_a_planted_bad_candidate_is_held_back_and_never_becomes_active(capsys):
    line = make_line_on_toy()
    make_exam(line, count=24)
    good = register_trained(line.name, "domain")
    services.apply_verdict(services.run_evaluation(services.start_evaluation(line, good).pk), system=True)
    bad = register_trained(line.name, "unrelated")

    call_command("evaluate", line.name, bad.label, "--json", "--apply", "--in-process")

    verdict = verdict_from_json(capsys.readouterr().out)
    # Worse on every measure, but on the toy by about 1% of the loss: inside the minimum effect, so the
    # policy holds it (rejecting needs the whole interval below -margin), and it is never promoted.
    assert verdict["decision"] in ("hold", "reject"), verdict["reasons"]
    assert verdict["against"] == good.label
    assert verdict["metrics"]["difference"]["high"] < 0
    if verdict["decision"] == "hold":
        assert verdict["reasons"][0].startswith(f"could be worse than {good.label} by more than the margin")
    bad.refresh_from_db()
    assert bad.status in (VersionStatus.CANDIDATE, VersionStatus.REJECTED)
    assert line.active_version() == good
    assert not line.activations.filter(to_version=bad).exists()
    with pytest.raises(services.ArenaError):  # applying again changes nothing
        services.apply_verdict(Evaluation.objects.get(candidate=bad), system=True)
