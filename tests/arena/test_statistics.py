"""Paired statistics on data whose answer is known: t intervals, one-sided tests, Holm, the bootstrap baseline."""

import random
import statistics

import pytest

from arena.stats import holm, mean_interval, p_above, paired_bootstrap, percentile, t_cdf, t_quantile


def test_percentile_interpolates_like_numpy():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([0.0, 10.0], 0.025) == pytest.approx(0.25)


def test_t_quantiles_match_the_printed_table():
    # Student's t table, two-sided 95%: df 1, 4, 19, 79 and (nearly) the normal value.
    for df, value in ((1, 12.706), (4, 2.776), (19, 2.093), (79, 1.990), (10_000, 1.960)):
        assert t_quantile(0.975, df) == pytest.approx(value, abs=1e-3)
    assert t_cdf(0.0, 7) == pytest.approx(0.5)
    assert t_cdf(-2.093, 19) == pytest.approx(0.025, abs=1e-4)


def test_the_t_interval_is_the_textbook_one():
    diffs = [1.0, 2.0, 3.0, 4.5]
    result = mean_interval(diffs)
    half = 3.182446 * statistics.stdev(diffs) / 2
    assert result["mean"] == pytest.approx(2.625)
    assert result["low"] == pytest.approx(2.625 - half, abs=1e-5)
    assert result["high"] == pytest.approx(2.625 + half, abs=1e-5)


def test_one_item_gives_no_interval_and_no_items_give_nothing():
    assert mean_interval([0.3])["low"] is None and mean_interval([0.3])["mean"] == pytest.approx(0.3)
    assert mean_interval([])["mean"] is None


def test_a_95_percent_interval_covers_the_true_mean_about_95_percent_of_the_time_even_for_10_items():
    rng = random.Random(5)
    covered = sum(1 for _ in range(2000) if (r := mean_interval([rng.gauss(0.2, 1.0) for _ in range(10)]))["low"]
                  <= 0.2 <= r["high"])
    assert 0.93 <= covered / 2000 <= 0.97


def test_the_percentile_bootstrap_is_too_narrow_for_10_items_where_the_t_interval_is_not():
    rng = random.Random(5)
    samples = [[rng.gauss(0.0, 1.0) for _ in range(10)] for _ in range(300)]
    boot = sum(1 for s in samples if (r := paired_bootstrap(s, samples=400))["low"] <= 0 <= r["high"])
    t = sum(1 for s in samples if (r := mean_interval(s))["low"] <= 0 <= r["high"])
    assert t > boot and boot / 300 < 0.93


def test_between_seed_variance_widens_the_interval_however_many_items_there_are():
    rng = random.Random(1)
    diffs = [rng.gauss(0.02, 0.1) for _ in range(2000)]
    plain, noisy = mean_interval(diffs), mean_interval(diffs, extra_variance=2 * 0.01 ** 2)
    assert noisy["high"] - noisy["low"] > plain["high"] - plain["low"]
    assert noisy["high"] - noisy["low"] > 2 * 1.96 * 0.01 * 2 ** 0.5  # at least the seed part alone


def test_the_verdict_statistics_do_not_depend_on_item_order():
    rng = random.Random(3)
    diffs = [rng.gauss(0.1, 0.5) for _ in range(50)]
    shuffled = diffs[:]
    rng.shuffle(shuffled)
    assert mean_interval(diffs) == mean_interval(shuffled)


def test_one_sided_p_values_and_holm():
    interval = mean_interval([0.5, 0.6, 0.4, 0.55, 0.45] * 4)
    assert p_above(interval, 0.0) < 0.001 and p_above(interval, 1.0) > 0.999
    assert p_above({"mean": 0.2, "se": 0.0, "df": 3}, 0.1) == 0.0  # no spread: the sign decides
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}, 0.05) == {"a": True, "c": False, "b": False}
    assert holm({"a": 0.01, "b": 0.02}, 0.05) == {"a": True, "b": True}


def test_the_bootstrap_baseline_is_reproducible():
    diffs = [0.1, -0.4, 0.9, 0.3, -0.2, 0.5, 0.05, 0.7]
    assert paired_bootstrap(diffs, seed=7) == paired_bootstrap(diffs, seed=7)
    assert paired_bootstrap([0.3] * 20, samples=500, seed=1)["low"] == pytest.approx(0.3)


def test_the_seed_component_keeps_a_shift_of_the_whole_model_and_drops_item_by_item_noise():
    from arena.stats import seed_variance

    rng = random.Random(3)
    items = [rng.gauss(2.0, 0.5) for _ in range(40)]
    shifted = [[x + shift for x in items] for shift in (0.0, 0.1, 0.2)]
    assert seed_variance(shifted)["sd"] == pytest.approx(0.1)
    noisy = [[x + rng.gauss(0, 0.3) for x in items] for _ in range(8)]
    measured = seed_variance(noisy)
    assert measured["sd_of_means"] == pytest.approx(0.3 / 40 ** 0.5, rel=0.6)  # all of it is item-by-item
    assert measured["sd"] < measured["sd_of_means"] / 2
    with pytest.raises(ValueError, match="at least 2 replicas"):
        seed_variance([[1.0, 2.0]])
