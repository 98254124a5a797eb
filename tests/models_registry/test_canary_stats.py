"""The canary's confidence sequence on its own: coverage, direction and the boundary's shape."""

import random

from models_registry import canary_stats
from models_registry.canary_stats import Arm, read


def test_the_radius_shrinks_with_more_outcomes_and_widens_with_more_confidence():
    rho = canary_stats.mixture_rho(200, 0.025)
    radii = [canary_stats.radius(n, 0.025, rho) for n in (10, 100, 1000, 10000)]
    assert radii == sorted(radii, reverse=True)
    assert canary_stats.radius(100, 0.005, rho) > canary_stats.radius(100, 0.025, rho)
    assert canary_stats.radius(0, 0.025, rho) == float("inf")


def test_clear_differences_are_decided_both_ways_and_equal_rates_are_not():
    better = read(Arm(180, 200), Arm(100, 200), confidence=0.95, tuned_for=200)
    assert better.decision == "better" and better.low > 0 and abs(better.difference - 0.4) < 1e-9
    worse = read(Arm(40, 200), Arm(160, 200), confidence=0.95, tuned_for=200)
    assert worse.decision == "worse" and worse.high < 0
    equal = read(Arm(100, 200), Arm(100, 200), confidence=0.95, tuned_for=200)
    assert equal.decision == "" and equal.low < 0 < equal.high
    assert read(Arm(0, 0), Arm(5, 10), confidence=0.95, tuned_for=200).difference is None


def test_a_minimum_effect_holds_back_a_promotion_the_interval_does_not_clear():
    reading = read(Arm(180, 200), Arm(100, 200), confidence=0.95, tuned_for=200, min_effect=0.3)
    assert reading.low < 0.3 and reading.decision == ""


def test_looking_after_every_outcome_keeps_false_decisions_under_alpha():
    # Equal rates, read after each of 400 outcomes per arm, in 200 runs: a fixed-n test read this
    # often would decide falsely far more often than alpha; the confidence sequence must not.
    rng = random.Random(7)
    false = 0
    for _ in range(200):
        c = b = 0
        for n in range(1, 401):
            c += rng.random() < 0.6
            b += rng.random() < 0.6
            if read(Arm(c, n), Arm(b, n), confidence=0.9, tuned_for=400).decision:
                false += 1
                break
    assert false / 200 <= 0.1


def test_p95_is_the_nearest_rank():
    assert canary_stats.p95([]) is None
    assert canary_stats.p95(list(range(1, 101))) == 95
    assert canary_stats.p95([5.0]) == 5.0
