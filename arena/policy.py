"""The promotion policy: turn per-item results into a verdict with reasons.

Primary metric: the mean per-token reference loss (lower is better). Each item's paired
difference is against_loss - candidate_loss, so a positive mean favours the candidate.

- promote: the 95% interval of the overall difference lies above zero, and no category is
  worse by more than its tolerance (relative change of its mean loss, or a drop of its
  check pass rate);
- reject: the interval lies below zero;
- hold: anything else, and every promote when ARENA_REQUIRE_APPROVAL is on.
"""

import statistics
from collections import defaultdict

from django.conf import settings

from arena.stats import paired_bootstrap

PRIMARY = "reference_loss"


def tolerance_for(category: str) -> float:
    return settings.ARENA_CATEGORY_TOLERANCES.get(category, settings.ARENA_TOLERANCE)


def _rate(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return sum(1 for v in values if v) / len(values) if values else None


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def summarize(rows: list[dict]) -> dict:
    """Numbers of one group of items: losses, paired difference with its interval, pass rates, F1."""
    cand = [r["candidate_loss"] for r in rows]
    against = [r["against_loss"] for r in rows]
    interval = paired_bootstrap([a - c for a, c in zip(against, cand, strict=True)],
                                samples=settings.ARENA_BOOTSTRAP_SAMPLES, seed=settings.ARENA_BOOTSTRAP_SEED)
    cand_loss, against_loss = statistics.fmean(cand), statistics.fmean(against)
    return {
        "n": len(rows),
        "candidate_loss": cand_loss,
        "against_loss": against_loss,
        "relative_change": (cand_loss - against_loss) / against_loss if against_loss else None,
        "difference": interval,
        "candidate_pass_rate": _rate([r.get("candidate_passed") for r in rows]),
        "against_pass_rate": _rate([r.get("against_passed") for r in rows]),
        "checked": sum(1 for r in rows if r.get("candidate_passed") is not None),
        "candidate_f1": _mean([r.get("candidate_f1") for r in rows]),
        "against_f1": _mean([r.get("against_f1") for r in rows]),
    }


def decide(rows: list[dict], *, candidate: str, against: str, context: dict | None = None) -> dict:
    """The verdict object for `rows` (dicts with candidate_loss, against_loss, category, passed, f1)."""
    if not rows:
        return {"decision": "hold", "candidate": candidate, "against": against, "metrics": {}, "categories": {},
                "reasons": ["no exam item or holdout example to compare on"], **(context or {})}
    overall = summarize(rows)
    by_category = defaultdict(list)
    for row in rows:
        by_category[row["category"]].append(row)
    categories = {}
    worse = []
    for name in sorted(by_category):
        numbers = summarize(by_category[name])
        tolerance = tolerance_for(name)
        problems = _category_problems(name, numbers, tolerance)
        categories[name] = {**numbers, "tolerance": tolerance, "worse": bool(problems)}
        worse.extend(problems)
    decision, reasons = _decision(overall, worse, candidate, against)
    return {"decision": decision, "candidate": candidate, "against": against,
            "metrics": {"primary": PRIMARY, **overall}, "categories": categories, "reasons": reasons,
            **(context or {})}


def _category_problems(name: str, numbers: dict, tolerance: float) -> list[str]:
    problems = []
    change = numbers["relative_change"]
    if change is not None and change > tolerance:
        problems.append(f"category {name}: reference loss {change:+.1%} worse ({numbers['against_loss']:.3f} -> "
                        f"{numbers['candidate_loss']:.3f}), tolerance {tolerance:.0%}")
    cand_rate, against_rate = numbers["candidate_pass_rate"], numbers["against_pass_rate"]
    if cand_rate is not None and against_rate is not None and against_rate - cand_rate > tolerance:
        problems.append(f"category {name}: checks passed dropped from {against_rate:.0%} to {cand_rate:.0%}, "
                        f"tolerance {tolerance:.0%}")
    return problems


def _decision(overall: dict, worse: list[str], candidate: str, against: str) -> tuple[str, list[str]]:
    diff = overall["difference"]
    shown = (f"mean loss difference {diff['mean']:+.4f} per token, 95% interval [{diff['low']:+.4f}, "
             f"{diff['high']:+.4f}] over {diff['n']} items (positive: {candidate} is better)")
    if diff["high"] < 0:
        return "reject", [f"{candidate} is worse than {against}: {shown}", *worse]
    if diff["low"] > 0 and not worse:
        reasons = [f"{candidate} is better than {against}: {shown}; no category worse than its tolerance"]
        if settings.ARENA_REQUIRE_APPROVAL:
            return "hold", [*reasons, "the policy requires a person to approve every promotion "
                                      "(ARENA_REQUIRE_APPROVAL)"]
        return "promote", reasons
    if diff["low"] > 0:
        return "hold", [f"{candidate} is better overall than {against} ({shown}) but a category is worse", *worse]
    return "hold", [f"no clear difference between {candidate} and {against}: {shown}", *worse]
