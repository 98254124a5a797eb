"""A guarded category with too few checked items for an interval (the default exam's 8 `basics`) still
guards its checks: a material drop holds the verdict (or, when the exact test on the changed items shows it
is beyond chance, rejects it); no change, or a drop within the tolerance, lets a better candidate through."""

import pytest

from arena.policy import _sign_test
from tests.arena.test_policy_verdicts import rows, verdict_of


def exam_with_basics(before: int, after: int, *, swapped: int = 0):
    """40 domain items the candidate clearly does better on, plus 8 `basics` the against model passes `before`
    of and the candidate `after` of; `swapped` of the candidate's passes are on items the against model failed."""
    items = rows(n=40, categories=("robot", "sensor"), against_passed=lambda i: i % 2 == 0,
                 candidate_passed=lambda i: i % 2 == 0 or i % 4 == 1)
    candidate_passes = set(range(after - swapped)) | set(range(before, before + swapped))
    for k in range(8):
        row = dict(items[k], key=f"basics{k}", category="basics", against_passed=k < before,
                   candidate_passed=k in candidate_passes)
        items.append(row)
    return items


def test_a_small_category_that_drops_from_6_to_3_of_8_holds_the_verdict_and_says_what_is_missing():
    verdict = verdict_of(exam_with_basics(6, 3))
    assert verdict["decision"] == "hold", verdict["reasons"]
    reason = next(r for r in verdict["reasons"] if r.startswith("category basics"))
    assert "6/8 -> 3/8 passed (3 lost, 0 gained" in reason
    assert "p = 0.125" in reason
    assert "it needs 2 more checked item(s) for an interval (ARENA_MIN_CHECKED_ITEMS 10)" in reason
    basics = verdict["categories"]["basics"]
    assert basics["worse"] and not basics["shown_worse"] and basics["small_checks"]["material"]
    assert verdict["metrics"]["difference"]["low"] > 0  # everything else would have promoted


def test_the_same_candidate_with_basics_unchanged_is_promoted():
    verdict = verdict_of(exam_with_basics(6, 6))
    assert verdict["decision"] == "promote", verdict["reasons"]
    assert not verdict["categories"]["basics"]["worse"]
    assert "8 checked items, 6/8 -> 6/8 passed (0 lost, 0 gained" in verdict["categories"]["basics"]["note"]


@pytest.mark.parametrize(("after", "swapped"), [(6, 2), (5, 0), (4, 0)])
def test_changes_that_net_within_the_tolerance_do_not_block_promotion(after, swapped):
    # two checks traded for two others, or one or two of 8 lost (12% and 25%: within 25 points)
    verdict = verdict_of(exam_with_basics(6, after, swapped=swapped))
    assert verdict["decision"] == "promote", verdict["reasons"]
    assert not verdict["categories"]["basics"]["small_checks"]["material"]


def test_losing_every_basic_check_is_shown_beyond_chance_and_rejects():
    verdict = verdict_of(exam_with_basics(8, 0))
    assert verdict["decision"] == "reject", verdict["reasons"]
    assert any(r.startswith("category basics: checks shown worse (exact test on the changed items")
               for r in verdict["reasons"])
    assert verdict["categories"]["basics"]["shown_worse"]


def test_a_category_at_the_minimum_keeps_the_interval_guard(settings):
    settings.ARENA_MIN_CHECKED_ITEMS = 8
    verdict = verdict_of(exam_with_basics(6, 3))
    basics = verdict["categories"]["basics"]
    assert "small_checks" not in basics and "p_checks" in basics


def test_the_sign_test_is_the_exact_binomial_tail():
    assert _sign_test(3, 0) == pytest.approx(1 / 8)
    assert _sign_test(8, 0) == pytest.approx(1 / 256)
    assert _sign_test(2, 1) == pytest.approx(4 / 8)
    assert _sign_test(0, 3) == 1.0
