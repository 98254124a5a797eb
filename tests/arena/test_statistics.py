"""Paired bootstrap on data whose answer is known, and the policy's decisions with their reasons."""

import random
import statistics

import pytest

from arena.policy import decide
from arena.stats import paired_bootstrap, percentile


def test_percentile_interpolates_like_numpy():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([0.0, 10.0], 0.025) == pytest.approx(0.25)


def test_constant_differences_give_a_zero_width_interval():
    result = paired_bootstrap([0.3] * 20, samples=500, seed=1)
    assert result["mean"] == pytest.approx(0.3)
    assert result["low"] == pytest.approx(0.3) and result["high"] == pytest.approx(0.3)


def test_the_interval_matches_the_normal_approximation_on_a_large_sample():
    rng = random.Random(42)
    diffs = [rng.gauss(0.5, 2.0) for _ in range(400)]
    result = paired_bootstrap(diffs, samples=4000, seed=0)
    half = 1.96 * statistics.stdev(diffs) / len(diffs) ** 0.5
    mean = statistics.fmean(diffs)
    assert result["low"] == pytest.approx(mean - half, abs=0.04)
    assert result["high"] == pytest.approx(mean + half, abs=0.04)
    assert result["low"] > 0  # a true effect of 0.5 with n=400 is detected


def test_symmetric_differences_around_zero_give_an_interval_containing_zero():
    result = paired_bootstrap([1.0, -1.0] * 15, samples=2000, seed=0)
    assert result["low"] < 0 < result["high"]


def test_the_same_seed_gives_the_same_interval_and_another_seed_may_not():
    diffs = [0.1, -0.4, 0.9, 0.3, -0.2, 0.5, 0.05, 0.7]
    assert paired_bootstrap(diffs, seed=7) == paired_bootstrap(diffs, seed=7)
    assert paired_bootstrap(diffs, seed=7)["low"] != paired_bootstrap(diffs, seed=8)["low"]


def _rows(spec):
    """spec: [(category, against_loss, candidate_loss, against_passed, candidate_passed)]"""
    return [{"category": c, "against_loss": a, "candidate_loss": b, "against_passed": ap, "candidate_passed": bp,
             "candidate_f1": 0.5, "against_f1": 0.5} for c, a, b, ap, bp in spec]


def test_a_clearly_better_candidate_is_promoted(settings):
    verdict = decide(_rows([("x", 2.0, 1.0, None, None)] * 6 + [("y", 2.0, 1.5, None, None)] * 6),
                     candidate="v2", against="v1")
    assert verdict["decision"] == "promote"
    assert set(verdict) >= {"decision", "candidate", "against", "metrics", "categories", "reasons"}
    assert verdict["categories"]["x"]["difference"]["mean"] == pytest.approx(1.0)


def test_a_clearly_worse_candidate_is_rejected():
    verdict = decide(_rows([("x", 1.0, 2.0, None, None)] * 8), candidate="v2", against="v1")
    assert verdict["decision"] == "reject" and "worse" in verdict["reasons"][0]


def test_better_overall_but_a_category_worse_than_its_tolerance_is_held(settings):
    settings.ARENA_CATEGORY_TOLERANCES = {"sql": 0.5}
    rows = _rows([("python", 3.0, 1.0, None, None)] * 8 + [("shell", 1.0, 1.2, None, None)] * 2)
    verdict = decide(rows, candidate="v2", against="v1")
    assert verdict["decision"] == "hold"
    assert verdict["categories"]["shell"]["worse"] and not verdict["categories"]["python"]["worse"]
    assert any("category shell" in r for r in verdict["reasons"])
    settings.ARENA_CATEGORY_TOLERANCES = {"shell": 0.5}
    assert decide(rows, candidate="v2", against="v1")["decision"] == "promote"


def test_a_drop_in_checks_passed_holds_the_candidate():
    rows = _rows([("python", 2.0, 1.0, True, False)] * 4 + [("python", 2.0, 1.0, True, True)] * 4)
    verdict = decide(rows, candidate="v2", against="v1")
    assert verdict["decision"] == "hold" and any("checks passed dropped" in r for r in verdict["reasons"])


def test_no_clear_difference_is_a_hold():
    verdict = decide(_rows([("x", 1.0, 1.5, None, None), ("x", 1.5, 1.0, None, None)] * 5),
                     candidate="v2", against="v1")
    assert verdict["decision"] == "hold" and "no clear difference" in verdict["reasons"][0]


def test_the_approval_setting_turns_every_promote_into_a_hold(settings):
    settings.ARENA_REQUIRE_APPROVAL = True
    verdict = decide(_rows([("x", 2.0, 1.0, None, None)] * 6), candidate="v2", against="v1")
    assert verdict["decision"] == "hold" and "ARENA_REQUIRE_APPROVAL" in verdict["reasons"][-1]
