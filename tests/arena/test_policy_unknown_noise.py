"""With the recipe's seed noise unknown (no replicas measured, no ARENA_SEED_SD) a verdict that would promote is
held: it would rest on the practical minimum alone, which the benchmark saw promote same-data retrains over each
other. The reason quotes the benchmark's rate at the nearest exam size and says what to do."""

import pytest

from arena.unknown_noise import FALSE_PROMOTIONS, nearest_size
from tests.arena.test_policy_verdicts import rows, verdict_of


def unknown(items, **kwargs):
    return verdict_of(items, seed_noise=None, **kwargs)


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
