"""The promotion policy's verdicts: margins both ways, enough evidence, pass rate as a co-primary metric,
category guards with intervals, exam and holdout judged apart, and no dependence on item order."""

import json
import random

import pytest

from arena.policy import decide

CATEGORIES = ("python", "shell", "git", "sql")


def rows(n=40, *, gain=0.5, spread=0.2, against=2.0, seed=0, kind="exam", categories=CATEGORIES,
         against_passed=None, candidate_passed=None):
    """n items with loss differences gain +- spread (positive favours the candidate), spread over categories."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a = against + rng.gauss(0, 0.3)
        out.append({"kind": kind, "key": f"{kind}{i:03d}", "category": categories[i % len(categories)],
                    "against_loss": a, "candidate_loss": a - gain - rng.gauss(0, spread),
                    "against_passed": against_passed(i) if callable(against_passed) else against_passed,
                    "candidate_passed": candidate_passed(i) if callable(candidate_passed) else candidate_passed,
                    "candidate_f1": 0.5, "against_f1": 0.5})
    return out


# These tests judge the rest of the policy, so the recipe's seed noise is known and negligible unless a test
# says otherwise (with it unknown, a promotion is held: tests/arena/test_policy_unknown_noise.py).
NEGLIGIBLE_NOISE = {"exam": 0.0, "holdout": 0.0, "pass_rate": 0.0, "source": "measured: none"}


def verdict_of(items, **kwargs):
    kwargs.setdefault("seed_noise", NEGLIGIBLE_NOISE)
    return decide(items, candidate="v2", against="v1", **kwargs)


def test_a_clearly_better_candidate_is_promoted():
    verdict = verdict_of(rows())
    assert verdict["decision"] == "promote", verdict["reasons"]
    assert verdict["metrics"]["difference"]["low"] > verdict["margins"]["exam_loss"]["delta"] > 0
    assert verdict["insufficient"] == []


def test_a_clearly_worse_candidate_is_rejected_with_the_metric_named():
    verdict = verdict_of(rows(gain=-0.5))
    assert verdict["decision"] == "reject"
    assert verdict["reasons"][0].startswith("v2 is worse than v1 beyond the margin: exam loss")


def test_a_tiny_gain_on_every_item_is_held_below_the_minimum_effect():
    items = rows(gain=1e-6, spread=0.0)
    verdict = verdict_of(items)
    assert verdict["decision"] == "hold"
    assert verdict["reasons"][0].startswith("no improvement beyond the margin")
    assert verdict["margins"]["exam_loss"]["source"].startswith("ARENA_MIN_EFFECT 1.0%")


def test_a_tiny_loss_on_every_item_is_not_rejected_either():
    assert verdict_of(rows(gain=-1e-6, spread=0.0))["decision"] == "hold"


@pytest.mark.parametrize("n", [1, 5])
def test_one_item_or_a_handful_is_insufficient_evidence(n):
    verdict = verdict_of(rows(n=n, gain=0.5, spread=0.0, categories=("python",)))
    assert verdict["decision"] == "hold"
    assert verdict["reasons"][0].startswith("insufficient evidence: the exam has "
                                            f"{n} items (minimum 20, ARENA_MIN_EXAM_ITEMS)")


def test_a_guarded_category_with_one_item_is_named_as_missing_evidence(settings):
    items = rows(n=40, categories=("python", "shell"))
    items[0]["category"] = "git"
    verdict = verdict_of(items)
    assert verdict["decision"] == "hold" and "git (1)" in verdict["reasons"][0]
    settings.ARENA_GUARDED_CATEGORIES = ["python", "shell"]
    assert verdict_of(items)["decision"] == "promote"


def test_a_clear_regression_is_rejected_even_on_little_evidence():
    assert verdict_of(rows(n=6, gain=-1.0, spread=0.05))["decision"] == "reject"


def test_the_verdict_does_not_depend_on_the_order_of_the_items():
    items = rows(n=40, gain=0.02, spread=0.1, seed=4, against_passed=lambda i: i % 3 == 0,
                 candidate_passed=lambda i: i % 4 == 0)
    first = json.dumps(verdict_of(items), sort_keys=True)
    rng = random.Random(0)
    for _ in range(20):
        rng.shuffle(items)
        assert json.dumps(verdict_of(items), sort_keys=True) == first


def test_a_candidate_trained_on_wrong_answers_that_learned_the_format_is_rejected_on_its_pass_rate():
    # Lower reference loss than the base model (it learned the format), but its answers are wrong.
    items = rows(n=40, gain=0.8, against_passed=lambda i: i % 5 != 0, candidate_passed=False)
    verdict = verdict_of(items)
    assert verdict["decision"] == "reject"
    assert "pass rate" in verdict["reasons"][0] and "exam loss" not in verdict["reasons"][0]


def test_half_of_one_category_breaking_format_is_held_by_its_guard():
    items = rows(n=80, gain=0.3, against_passed=True, candidate_passed=True)
    broken = [r for r in items if r["category"] == "sql"][:10]
    for row in broken:  # half of sql: the answer no longer passes, its loss barely moves
        row["candidate_passed"] = False
        row["candidate_loss"] = row["against_loss"] * 1.023
    verdict = verdict_of(items)
    assert verdict["decision"] in ("hold", "reject")
    assert any("category sql: checks" in r for r in verdict["reasons"]) or "pass rate" in verdict["reasons"][0]
    assert verdict["categories"]["sql"]["worse"] and not verdict["categories"]["python"]["worse"]


def test_one_flipped_check_in_a_category_is_noise_not_a_regression():
    # The old guard held here: "checks passed dropped from 100% to 93%", 1 of 15 over a 5% tolerance.
    items = rows(n=90, gain=0.4, categories=("python",) * 5 + ("sql",), against_passed=True, candidate_passed=True)
    [r for r in items if r["category"] == "sql"][0]["candidate_passed"] = False
    verdict = verdict_of(items)
    assert verdict["decision"] == "promote", verdict["reasons"]
    assert not verdict["categories"]["sql"]["worse"] and verdict["categories"]["sql"]["p_checks"] < 0.025


def test_one_flipped_check_in_a_large_category_is_within_its_tolerance():
    items = rows(n=200, gain=0.4, categories=("python",), against_passed=True, candidate_passed=True)
    items[7]["candidate_passed"] = False
    verdict = verdict_of(items)
    assert verdict["decision"] == "promote", verdict["reasons"]
    assert not verdict["categories"]["python"]["worse"]


def test_checks_that_neither_model_passes_cannot_tell_the_models_apart():
    verdict = verdict_of(rows(against_passed=False, candidate_passed=False))
    assert verdict["decision"] == "promote"
    assert any(r.startswith("the checks cannot tell the models apart: neither v2 nor v1 passed any of the 40")
               for r in verdict["reasons"])


def test_unchecked_items_are_left_out_of_the_pass_rate():
    # A skipped python check (no sandbox) leaves passed as None on that side: it is unchecked, not a failure.
    items = rows(n=160, against_passed=True, candidate_passed=lambda i: None if i % 2 else True)
    verdict = verdict_of(items)
    assert verdict["metrics"]["checked"] == 80 and verdict["metrics"]["candidate_pass_rate"] == 1.0
    assert verdict["decision"] == "promote", verdict["reasons"]


def test_a_better_pass_rate_promotes_when_the_loss_is_not_worse():
    items = rows(n=60, gain=0.0, spread=0.01, against_passed=lambda i: i % 2 == 0, candidate_passed=True)
    verdict = verdict_of(items)
    assert verdict["decision"] == "promote", verdict["reasons"]
    assert "pass rate" in verdict["reasons"][0]


def test_measured_seed_noise_widens_the_interval_and_raises_the_margin():
    items = rows(n=320, gain=0.03, spread=0.05)
    assert verdict_of(items)["decision"] == "promote"
    noise = {"exam": 0.03, "pass_rate": None, "source": "SD across 3 replicas of the candidate's recipe"}
    verdict = verdict_of(items, seed_noise=noise)
    assert verdict["decision"] == "hold"
    assert verdict["margins"]["exam_loss"] == {"delta": 0.03, "source": "seed noise: SD across 3 replicas of the "
                                                                        "candidate's recipe"}
    assert verdict["seed_noise"]["exam"] == 0.03


def test_the_seed_noise_setting_is_used_when_no_replica_was_measured(settings):
    settings.ARENA_SEED_SD = 0.05
    verdict = verdict_of(rows(n=320, gain=0.03, spread=0.05), seed_noise=None)
    assert verdict["decision"] == "hold" and verdict["seed_noise"]["source"].startswith("ARENA_SEED_SD")


def test_exam_and_holdout_are_judged_each_on_its_own():
    exam = rows(n=20, gain=0.5)
    verdict = verdict_of(exam + rows(n=50, gain=-0.5, kind="holdout", categories=("holdout",)))
    assert verdict["decision"] == "reject" and "holdout loss" in verdict["reasons"][0]
    verdict = verdict_of(exam + rows(n=50, gain=0.0, spread=0.4, kind="holdout", categories=("holdout",)))
    assert verdict["decision"] == "hold"  # a better exam alone does not promote when the holdout shows nothing
    assert verdict["holdout_metrics"]["n"] == 50 and verdict["metrics"]["n"] == 20
    assert verdict_of(exam + rows(n=50, gain=0.5, kind="holdout", categories=("holdout",)))["decision"] == "promote"


def test_a_holdout_emptied_by_exclusions_holds_with_the_reason():
    context = {"holdout": {"version": 1, "items": 0, "excluded_as_trained_on": 30}}
    verdict = verdict_of(rows(n=40), context=context)
    assert verdict["decision"] == "hold"
    assert "the holdout is empty: all 30 of its examples were left out" in verdict["reasons"][0]


def test_the_approval_setting_turns_every_promote_into_a_hold(settings):
    settings.ARENA_REQUIRE_APPROVAL = True
    verdict = verdict_of(rows())
    assert verdict["decision"] == "hold" and "ARENA_REQUIRE_APPROVAL" in verdict["reasons"][-1]


def test_no_items_hold():
    verdict = verdict_of([])
    assert verdict["decision"] == "hold" and verdict["insufficient"]
