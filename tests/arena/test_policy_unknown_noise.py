"""With the recipe's seed noise unknown (no replicas measured, no ARENA_SEED_SD) a verdict never promotes on the
practical minimum alone, which the benchmark saw promote same-data retrains over each other. By default it assumes
a seed SD (ARENA_ASSUMED_SEED_SD) several times any measured, and only a gain beyond that promotes; with nothing
assumed (0) a would-be promotion is held, quoting the benchmark's rate at the nearest exam size and saying what
to do."""

import random

import pytest

from arena.policy import noise_measured
from arena.unknown_noise import FALSE_PROMOTIONS, nearest_size
from professor.replicas import within_reach
from tests.arena.test_policy_verdicts import rows, verdict_of

ASSUMED = 0.1


@pytest.fixture(autouse=True)
def nothing_assumed(settings):
    """The tests below the first four judge the hold with nothing assumed; those four set the assumption."""
    settings.ARENA_ASSUMED_SEED_SD = 0.0
    return settings


def unknown(items, **kwargs):
    return verdict_of(items, seed_noise=None, **kwargs)


def test_with_an_assumed_seed_sd_a_gain_far_beyond_it_promotes_and_says_what_it_assumed(settings):
    settings.ARENA_ASSUMED_SEED_SD = ASSUMED
    verdict = unknown(rows(n=80, gain=0.5))
    assert verdict["decision"] == "promote", verdict["reasons"]
    assert verdict["awaits_seed_noise"] is False and verdict["seed_noise"]["assumed"] is True
    assert verdict["seed_noise"]["exam"] == ASSUMED and not noise_measured(verdict)
    assert verdict["margins"]["exam_loss"]["delta"] == ASSUMED
    assert verdict["margins"]["exam_loss"]["source"].startswith("seed noise: assumed 0.1 nats/token")
    assert verdict["reasons"][0].startswith("the recipe's seed noise is not measured, so the margin and interval "
                                            "assume a seed SD of 0.1 nats/token")
    # The Professor still measures the noise before it promotes by itself.
    assert "seed noise is not measured" in within_reach(verdict)


def test_with_an_assumed_seed_sd_a_gain_within_it_is_held_though_beyond_the_minimum(settings):
    settings.ARENA_ASSUMED_SEED_SD = ASSUMED
    items = rows(n=80, gain=0.3)
    assert verdict_of(items)["decision"] == "promote"  # with the noise measured negligible, 0.3 is plenty
    verdict = unknown(items)
    assert verdict["decision"] == "hold"
    assert verdict["reasons"][0].startswith("no improvement beyond the margin")
    assert within_reach(verdict)  # and the Professor would measure the noise


def test_same_data_retrains_are_not_promoted_over_each_other_on_an_assumed_noise(settings):
    """Twins whose true seed SD is a quarter of the assumed one (SmolLM2's 0.027 against 0.1): none promotes."""
    settings.ARENA_ASSUMED_SEED_SD = ASSUMED
    settings.ARENA_MIN_EFFECT = 0.0  # as on a real model, where the noise, not the 1% minimum, sets the margin
    promoted = 0
    for seed in range(40):
        twin_gap = random.Random(seed).gauss(0, 0.027 * 2 ** 0.5)
        promoted += unknown(rows(n=320, gain=twin_gap, spread=0.05, seed=seed))["decision"] == "promote"
    assert promoted == 0


def test_an_assumed_noise_leaves_the_category_guards_on_their_own_intervals(settings):
    """A category the candidate leaves unchanged is still shown within its tolerance: the assumption only raises
    the bar for a gain."""
    settings.ARENA_ASSUMED_SEED_SD = ASSUMED
    items = rows(n=80, gain=1.0, categories=("python",)) + rows(n=40, gain=0.0, spread=0.02, seed=1,
                                                                categories=("shell",))
    for i, row in enumerate(items):
        row["key"] = f"item{i:03d}"
    verdict = unknown(items)
    assert verdict["decision"] == "promote", verdict["reasons"]
    assert not verdict["categories"]["shell"]["worse"]


@pytest.mark.parametrize(("n", "quoted"), [(20, "0.3% of pairs at 20 exam items"),
                                           (80, "16.2% of pairs at 80 exam items"),
                                           (320, "28.9% of pairs at 320 exam items")])
def test_a_clearly_better_candidate_with_unknown_noise_is_held_with_the_benchmarks_rate(n, quoted):
    verdict = unknown(rows(n=n))
    assert verdict["decision"] == "hold"
    assert verdict["awaits_seed_noise"] is True
    assert verdict["insufficient"] == []  # the evidence is enough; what is missing is the seed noise
    first = verdict["reasons"][0]
    assert first.startswith("insufficient evidence: seed noise unknown. This would be promoted on the practical "
                            "minimum (ARENA_MIN_EFFECT) alone")
    assert quoted in first and f"this exam's {n};" in first
    assert "Train 2 or more replicas of this recipe" in first and "set ARENA_SEED_SD" in first
    assert verdict["reasons"][1].startswith("v2 is better than v1 beyond the margin")


def test_the_rate_quoted_is_the_nearest_benchmark_size_on_a_log_scale():
    assert [nearest_size(n) for n in (1, 20, 39, 41, 80, 159, 161, 320, 5000)] == [20, 20, 20, 80, 80, 80, 320,
                                                                                   320, 320]
    assert FALSE_PROMOTIONS[80] > 0.05 and FALSE_PROMOTIONS[320] > 0.05  # why the hold is at every size
    verdict = unknown(rows(n=45))
    assert "16.2% of pairs at 80 exam items (the benchmark's size nearest to this exam's 45;" in \
        verdict["reasons"][0]


def test_a_set_seed_sd_or_measured_replicas_let_the_same_candidate_be_promoted(settings):
    items = rows(n=80)
    assert verdict_of(items)["decision"] == "promote"  # measured (negligible) noise
    measured = {"exam": 0.01, "pass_rate": None, "source": "seed component across 3 replicas"}
    verdict = verdict_of(items, seed_noise=measured)
    assert verdict["decision"] == "promote" and verdict["awaits_seed_noise"] is False
    settings.ARENA_SEED_SD = 0.01
    verdict = unknown(items)
    assert verdict["decision"] == "promote", verdict["reasons"]
    assert verdict["seed_noise"]["source"] == "ARENA_SEED_SD 0.01 nats/token"


def test_only_a_would_be_promotion_awaits_the_seed_noise():
    worse = unknown(rows(gain=-0.5))
    assert worse["decision"] == "reject" and worse["awaits_seed_noise"] is False
    tiny = unknown(rows(gain=1e-6, spread=0.0))
    assert tiny["decision"] == "hold" and tiny["awaits_seed_noise"] is False
    assert tiny["reasons"][0].startswith("no improvement beyond the margin")
    few = unknown(rows(n=5, categories=("python",)))
    assert few["decision"] == "hold" and few["awaits_seed_noise"] is False
    assert few["reasons"][0].startswith("insufficient evidence: the exam has 5 items")


def test_required_approval_and_unknown_noise_both_say_so(settings):
    settings.ARENA_REQUIRE_APPROVAL = True
    verdict = unknown(rows(n=80))
    assert verdict["decision"] == "hold" and verdict["awaits_seed_noise"] is True
    assert verdict["reasons"][0].startswith("insufficient evidence: seed noise unknown")
    assert verdict["reasons"][-1] == ("the policy requires a person to approve every promotion "
                                      "(ARENA_REQUIRE_APPROVAL)")
    measured = verdict_of(rows(n=80))
    assert measured["decision"] == "hold" and measured["awaits_seed_noise"] is False
    assert measured["reasons"][-1].endswith("(ARENA_REQUIRE_APPROVAL)")
