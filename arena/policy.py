"""The promotion policy: per-item results in, a verdict with reasons out.

Each item's paired loss difference is against_loss - candidate_loss (positive favours the
candidate); each checked item's pass difference is candidate_passed - against_passed. The
exam and the holdout are separate parts, each with its own t interval (arena.stats), whose
standard error includes the measured between-seed variance of the recipe when it is known (once per
trained side: the base model has none); pass-rate differences get the Agresti-Min interval for
paired proportions. A guarded category with too few checked items for an interval is judged on the
checks that changed (a material net drop holds; an exact test showing it beyond chance rejects).

- margins: a loss part's margin is delta = max(ARENA_MIN_EFFECT x the compared model's loss, the
  seed SD); the pass rate's is max(ARENA_PASS_MARGIN, its seed SD). Both are recorded with where
  they came from.
- promote: enough evidence (ARENA_MIN_* items), no primary metric (exam loss, holdout loss, pass
  rate when the checks can tell the models apart) worse beyond its margin (interval low > -margin),
  one improved beyond it (loss: low > delta on the exam and on the holdout; or pass rate low > its
  margin), and every guarded category shown not worse than its tolerance (non-inferiority tests);
- reject: a primary metric's whole interval lies below -margin, or a guarded category is shown worse
  than its tolerance (Holm-corrected across categories);
- hold: anything else, "insufficient evidence" naming what is missing, and every promote when
  ARENA_REQUIRE_APPROVAL is on.
- seed noise not measured (no replicas, no ARENA_SEED_SD): the verdict assumes a seed SD of
  ARENA_ASSUMED_SEED_SD (`seed_noise.assumed`), several times any measured here, because the 1%
  minimum alone let the benchmark promote same-data retrains over each other (arena.unknown_noise);
  only a gain beyond that promotes, and the reasons say so. With ARENA_ASSUMED_SEED_SD 0 such a
  promotion is held instead (`awaits_seed_noise`). Either way the Professor measures replicas before
  it promotes by itself (noise_measured()).
"""

import math
from collections import defaultdict

from django.conf import settings

from arena.stats import holm, mean_interval, p_above, p_below, paired_proportion_interval
from arena.unknown_noise import assumed_reason, hold_reason

PRIMARY = "reference_loss"


def tolerance_for(category: str) -> float:
    return settings.ARENA_CATEGORY_TOLERANCES.get(category, settings.ARENA_TOLERANCE)


def _rate(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return sum(1 for v in values if v) / len(values) if values else None


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return math.fsum(values) / len(values) if values else None


def _sorted(rows: list[dict]) -> list[dict]:
    """Rows in a fixed order (kind, key, then the numbers), so the verdict never depends on how items came."""
    return sorted(rows, key=lambda r: (str(r.get("kind") or "exam"), str(r.get("key") or ""), str(r["category"]),
                                       r["against_loss"], r["candidate_loss"]))


def _checked(rows: list[dict]) -> list[dict]:
    """Rows whose check both models ran (None: no check, or skipped)."""
    return [r for r in rows if r.get("candidate_passed") is not None and r.get("against_passed") is not None]


def summarize(rows: list[dict], *, seed_variance: float = 0.0, pass_seed_variance: float = 0.0,
              sides: int = 2) -> dict:
    """Numbers of one group of items: losses, the paired loss and pass-rate differences with their intervals.

    seed_variance, pass_seed_variance: one trained model's between-seed variance of the mean; `sides` of the
    comparison are trained models (2; 1 when the candidate is compared with the untrained base model, which
    has no training noise), so the difference carries sides x that variance.
    """
    confidence = settings.ARENA_CONFIDENCE
    cand = [r["candidate_loss"] for r in rows]
    against = [r["against_loss"] for r in rows]
    checked = _checked(rows)
    cand_loss, against_loss = _mean(cand), _mean(against)
    return {
        "n": len(rows),
        "candidate_loss": cand_loss,
        "against_loss": against_loss,
        "relative_change": (cand_loss - against_loss) / against_loss if against_loss else None,
        "difference": mean_interval([a - c for a, c in zip(against, cand, strict=True)], confidence=confidence,
                                    extra_variance=sides * seed_variance),
        "candidate_pass_rate": _rate([r["candidate_passed"] for r in checked]),
        "against_pass_rate": _rate([r["against_passed"] for r in checked]),
        "checked": len(checked),
        "passes": sum(1 for r in checked if r["candidate_passed"] or r["against_passed"]),
        "pass_difference": paired_proportion_interval(
            [(bool(r["candidate_passed"]), bool(r["against_passed"])) for r in checked], confidence=confidence,
            extra_variance=sides * pass_seed_variance),
        "candidate_f1": _mean([r.get("candidate_f1") for r in rows]),
        "against_f1": _mean([r.get("against_f1") for r in rows]),
    }


# ---------------------------------------------------------------------------- margins and seed noise
def _noise(seed_noise: dict | None) -> dict:
    """Per-model seed SDs of the mean (exam loss, holdout loss, pass rate) and where they came from."""
    seed_noise = dict(seed_noise or {})
    fixed, assumed = settings.ARENA_SEED_SD, settings.ARENA_ASSUMED_SEED_SD
    if seed_noise.get("exam") is None and fixed:
        seed_noise.update(exam=fixed, holdout=fixed, source=f"ARENA_SEED_SD {fixed:g} nats/token")
    elif seed_noise.get("exam") is None and assumed:
        seed_noise.update(exam=assumed, holdout=assumed, assumed=True,
                          source=f"assumed {assumed:g} nats/token (ARENA_ASSUMED_SEED_SD): no replica of this "
                                 "recipe was evaluated on these questions")
    seed_noise.setdefault("source", "unknown: no replica of this recipe was evaluated on these questions")
    return seed_noise


def noise_measured(verdict: dict) -> bool:
    """Whether `verdict`'s seed noise was measured (replicas, or ARENA_SEED_SD), not unknown or assumed."""
    return _measured((verdict or {}).get("seed_noise") or {})


def _measured(noise: dict) -> bool:
    return noise.get("exam") is not None and not noise.get("assumed")


def _trained_sides(noise: dict) -> int:
    """How many of the two compared models carry training noise: 1 against the base model, else 2."""
    return 2 if noise.get("against_trained", True) else 1


def _loss_margin(part: str, numbers: dict, noise: dict, against: str) -> dict:
    minimum = settings.ARENA_MIN_EFFECT * (numbers["against_loss"] or 0.0)
    seed = noise.get(part) or 0.0
    if seed > minimum:
        return {"delta": seed, "source": f"seed noise: {noise['source']}"}
    return {"delta": minimum, "source": f"ARENA_MIN_EFFECT {settings.ARENA_MIN_EFFECT:.1%} of {against}'s "
                                        f"{part} loss {numbers['against_loss']:.4f}"}


def _pass_margin(noise: dict) -> dict:
    seed = noise.get("pass_rate") or 0.0
    if seed > settings.ARENA_PASS_MARGIN:
        return {"delta": seed, "source": f"seed noise: {noise['source']}"}
    return {"delta": settings.ARENA_PASS_MARGIN, "source": f"ARENA_PASS_MARGIN {settings.ARENA_PASS_MARGIN:.0%}"}


def _status(interval: dict, delta: float) -> str:
    """better / worse / not worse / unclear against a margin of delta either way."""
    low, high = interval.get("low"), interval.get("high")
    if low is None:
        return "unclear"
    if low > delta:
        return "better"
    if high < -delta:
        return "worse"
    return "not worse" if low > -delta else "unclear"


# ---------------------------------------------------------------------------- the verdict
def decide(rows: list[dict], *, candidate: str, against: str, context: dict | None = None,
           seed_noise: dict | None = None) -> dict:
    """The verdict for `rows` (dicts with kind, key, category, candidate_loss, against_loss, *_passed, *_f1).

    seed_noise: {"exam", "holdout", "pass_rate": per-model seed SDs of the mean, "source": words,
    "against_trained": False when `against` is the untrained base model, ...} measured from replicas of the
    candidate's recipe (arena.replicas), or None (ARENA_SEED_SD, else unknown).
    """
    context = dict(context or {})
    rows = _sorted(rows)
    noise = _noise(seed_noise)
    base = {"candidate": candidate, "against": against, "seed_noise": noise, **context}
    if not rows:
        return {"decision": "hold", "metrics": {}, "categories": {}, "insufficient": ["no exam item or holdout "
                "example to compare on"], "reasons": ["no exam item or holdout example to compare on"], **base}
    exam = [r for r in rows if (r.get("kind") or "exam") == "exam"]
    held = [r for r in rows if r.get("kind") == "holdout"]
    square = lambda value: (value or 0.0) ** 2  # noqa: E731
    sides = _trained_sides(noise)
    parts = {"exam": summarize(exam, seed_variance=square(noise.get("exam")),
                               pass_seed_variance=square(noise.get("pass_rate")), sides=sides)}
    holdout_context = context.get("holdout")
    if held or holdout_context:
        parts["holdout"] = summarize(held, seed_variance=square(noise.get("holdout")), sides=sides)
    margins = {f"{part}_loss": _loss_margin(part, numbers, noise, against)
               for part, numbers in parts.items() if numbers["n"]}
    margins["pass_rate"] = _pass_margin(noise)
    # An assumed noise only raises the bar for a gain; the guards test categories on the measured noise alone.
    categories, shown_worse, not_shown = _categories(exam, noise if _measured(noise)
                                                     else {**noise, "exam": None, "holdout": None})
    if "holdout" in parts:
        categories["holdout"] = {**parts["holdout"], "guarded": False, "worse": False,
                                 "tolerance": None, "note": "a primary part, tested on its own"}
    missing = _missing(parts, categories, holdout_context)
    decision, reasons = _decision(parts, margins, (shown_worse, not_shown), missing, holdout_context, candidate,
                                  against)
    awaits_seed_noise = decision == "promote" and noise.get("exam") is None
    if decision == "promote" and noise.get("assumed"):
        reasons = [assumed_reason(noise["exam"]), *reasons]
    if decision == "promote":
        decision, reasons = _held(reasons, awaits_seed_noise, parts["exam"]["n"])
    return {"decision": decision, "metrics": {"primary": PRIMARY, **parts["exam"]},
            "holdout_metrics": parts.get("holdout"), "margins": margins, "categories": categories,
            "insufficient": missing, "reasons": reasons, "awaits_seed_noise": awaits_seed_noise, **base}


def _held(reasons: list[str], noise_unknown: bool, items: int) -> tuple[str, list[str]]:
    """A promotion held for a person, or for the seed noise: unknown noise (arena.unknown_noise), approval required."""
    first = [hold_reason(items)] if noise_unknown else []
    last = (["the policy requires a person to approve every promotion (ARENA_REQUIRE_APPROVAL)"]
            if settings.ARENA_REQUIRE_APPROVAL else [])
    if not first and not last:
        return "promote", reasons
    return "hold", [*first, *reasons, *last]


def _categories(exam: list[dict], noise: dict) -> tuple[dict, list[str], list[str]]:
    """Per exam category: numbers and its guards. Returns (categories, shown worse, not shown within tolerance).

    A guard is a non-inferiority test: the category must be shown no worse than its tolerance, at the
    one-sided level of the verdict's intervals. Promotion needs every guard to pass, an intersection-union
    test, which needs no multiplicity correction (a correction would only make guards fire more on noise).
    The other direction, a category shown worse than its tolerance, is a claim about some category among
    many: those tests are Holm-corrected across the categories, and such a category rejects the candidate.
    """
    by_category = defaultdict(list)
    for row in exam:
        by_category[row["category"]].append(row)
    guarded_names = settings.ARENA_GUARDED_CATEGORIES
    alpha = (1 - settings.ARENA_CONFIDENCE) / 2
    categories, harm, tests, small = {}, {}, {}, {}
    for name in sorted(by_category):
        numbers = summarize(by_category[name], seed_variance=(noise.get("exam") or 0.0) ** 2,
                            pass_seed_variance=(noise.get("pass_rate") or 0.0) ** 2, sides=_trained_sides(noise))
        tolerance = tolerance_for(name)
        guarded = not guarded_names or name in guarded_names
        entry = {**numbers, "tolerance": tolerance, "guarded": guarded, "worse": False, "shown_worse": False,
                 "loss_margin": tolerance * (numbers["against_loss"] or 0.0)}
        if guarded and numbers["n"] >= 2:
            tests[f"{name}: loss"] = (entry["loss_margin"], numbers["difference"], "per token",
                                      f"{tolerance:.0%} of its loss ({entry['loss_margin']:.4f})")
            if numbers["checked"] >= settings.ARENA_MIN_CHECKED_ITEMS and numbers["passes"]:
                entry["pass_tolerance"] = settings.ARENA_CATEGORY_PASS_TOLERANCE
                tests[f"{name}: checks"] = (entry["pass_tolerance"], numbers["pass_difference"], "of checks passed",
                                            f"{entry['pass_tolerance']:.0%} of checks")
            elif numbers["checked"] and numbers["passes"]:
                entry["pass_tolerance"] = settings.ARENA_CATEGORY_PASS_TOLERANCE
                small[name] = _small_checks(numbers, entry["pass_tolerance"])
                entry["small_checks"] = small[name]
                entry["note"] = small[name]["text"]
        categories[name] = entry
    not_shown = []
    for name, guard in small.items():  # too few checked items for an interval: an exact test on the changed ones
        harm[f"{name}: checks"] = guard["p_chance"] if guard["material"] else 1.0
    for test, (margin, interval, _unit, _limit) in tests.items():
        name, metric = test.split(": ", 1)
        p_ok = p_above(interval, -margin)
        categories[name][f"p_{metric}"] = p_ok
        harm[test] = p_below(interval, -margin)
        if p_ok > alpha:
            categories[name]["worse"] = True
            categories[name].setdefault("not_shown", []).append(metric)
    shown_worse = holm(harm, alpha)
    worse_reasons = []
    for test, (_margin, interval, unit, limit) in sorted(tests.items()):
        name, metric = test.split(": ", 1)
        text = f"{_shown(interval, unit)}, tolerance {limit}"
        if shown_worse[test]:
            categories[name]["shown_worse"] = True
            worse_reasons.append(f"category {name}: {metric} shown worse than its tolerance (Holm-corrected "
                                 f"across {len(harm)} category tests): {text}")
        elif metric in categories[name].get("not_shown", []):
            not_shown.append(f"category {name}: {metric} not shown within its tolerance: {text}")
    for name, guard in sorted(small.items()):
        if not guard["material"]:
            continue
        categories[name]["worse"] = True
        categories[name].setdefault("not_shown", []).append("checks")
        if shown_worse[f"{name}: checks"]:
            categories[name]["shown_worse"] = True
            worse_reasons.append(f"category {name}: checks shown worse (exact test on the changed items, "
                                 f"Holm-corrected across {len(harm)} category tests): {guard['text']}")
        else:
            missing = settings.ARENA_MIN_CHECKED_ITEMS - guard["checked"]
            not_shown.append(f"category {name}: checks too few to judge and a material drop: {guard['text']}; "
                             f"it needs {missing} more checked item(s) for an interval (ARENA_MIN_CHECKED_ITEMS "
                             f"{settings.ARENA_MIN_CHECKED_ITEMS}), or a person to decide")
    return categories, worse_reasons, not_shown


def _sign_test(losses: int, gains: int) -> float:
    """Exact one-sided p-value: P(at least `losses` of the losses + gains changed items go against the
    candidate) when each change is as likely either way (the exact McNemar test, a sign test on discordant pairs)."""
    changed = losses + gains
    if losses == 0:
        return 1.0
    return math.fsum(math.comb(changed, k) for k in range(losses, changed + 1)) / 2 ** changed


def _small_checks(numbers: dict, tolerance: float) -> dict:
    """The checks guard of a category with too few checked items for an interval.

    Non-inferiority cannot be shown on a handful of items (any interval spans the tolerance), so a guard
    that demanded it would hold every promotion forever, and one that is skipped lets a clear regression
    through (6/8 -> 3/8). Instead: the guard passes while the net drop (checks lost minus checks gained)
    is within the tolerance; a larger, material drop holds the verdict unless the exact one-sided test on
    the changed items shows it is beyond chance, which rejects (Holm-corrected with the other guards).
    """
    gained, lost = numbers["pass_difference"]["discordant"]
    checked = numbers["checked"]
    drop = (lost - gained) / checked
    p_chance = _sign_test(lost, gained)
    material = drop > tolerance + 1e-12
    before = round(numbers["against_pass_rate"] * checked)
    after = round(numbers["candidate_pass_rate"] * checked)
    text = (f"{checked} checked items, {before}/{checked} -> {after}/{checked} passed ({lost} lost, {gained} gained: "
            f"a net drop of {max(drop, 0.0):.0%}, tolerance {tolerance:.0%}); exact one-sided test on the "
            f"{lost + gained} changed item(s): p = {p_chance:.3g} that chance alone loses this many")
    return {"checked": checked, "gained": gained, "lost": lost, "drop": drop, "p_chance": p_chance,
            "material": material, "text": text}


def _missing(parts: dict, categories: dict, holdout_context: dict | None) -> list[str]:
    """What the evidence lacks for a promotion, in plain words (empty: enough)."""
    missing = []
    exam = parts["exam"]
    if exam["n"] < settings.ARENA_MIN_EXAM_ITEMS:
        missing.append(f"the exam has {exam['n']} items (minimum {settings.ARENA_MIN_EXAM_ITEMS}, "
                       f"ARENA_MIN_EXAM_ITEMS)")
    if "holdout" in parts:
        n, excluded = parts["holdout"]["n"], (holdout_context or {}).get("excluded_as_trained_on") or 0
        if n == 0 and excluded:
            missing.append(f"the holdout is empty: all {excluded} of its examples were left out because a compared "
                           f"version was trained on them; take a new holdout")
        elif n < settings.ARENA_MIN_HOLDOUT_ITEMS:
            missing.append(f"the holdout has {n} examples (minimum {settings.ARENA_MIN_HOLDOUT_ITEMS}, "
                           f"ARENA_MIN_HOLDOUT_ITEMS)" + (f"; {excluded} left out as trained on" if excluded else ""))
    if exam["passes"] and exam["checked"] < settings.ARENA_MIN_CHECKED_ITEMS:
        missing.append(f"{exam['checked']} exam items have checks both models ran (minimum "
                       f"{settings.ARENA_MIN_CHECKED_ITEMS}, ARENA_MIN_CHECKED_ITEMS)")
    small = [f"{name} ({numbers['n']})" for name, numbers in categories.items()
             if numbers.get("guarded") and numbers["n"] < settings.ARENA_MIN_CATEGORY_ITEMS]
    if small:
        missing.append(f"guarded categories with fewer than {settings.ARENA_MIN_CATEGORY_ITEMS} items "
                       f"(ARENA_MIN_CATEGORY_ITEMS; or name the guarded ones in ARENA_GUARDED_CATEGORIES): "
                       + ", ".join(small))
    return missing


def _shown(interval: dict, unit: str = "per token") -> str:
    if interval.get("low") is None:
        return f"mean {interval['mean']:+.4f} {unit} over {interval['n']} item(s), too few for an interval" \
            if interval.get("mean") is not None else "no items"
    level = f"{settings.ARENA_CONFIDENCE:.0%}"
    return (f"mean {interval['mean']:+.4f} {unit}, {level} interval [{interval['low']:+.4f}, {interval['high']:+.4f}] "
            f"over {interval['n']} items")


def _decision(parts, margins, guards, missing, holdout_context, candidate, against) -> tuple[str, list[str]]:
    metrics, notes = {}, []
    for part, numbers in parts.items():
        if numbers["n"]:
            delta = margins[f"{part}_loss"]["delta"]
            metrics[f"{part} loss"] = (_status(numbers["difference"], delta), numbers["difference"], delta,
                                       "per token")
    exam = parts["exam"]
    if exam["checked"] and exam["passes"]:
        metrics["pass rate"] = (_status(exam["pass_difference"], margins["pass_rate"]["delta"]),
                                exam["pass_difference"], margins["pass_rate"]["delta"], "of checks passed")
    elif exam["checked"]:
        notes.append(f"the checks cannot tell the models apart: neither {candidate} nor {against} passed any of "
                     f"the {exam['checked']} checks, so the reference loss decides alone")
    else:
        notes.append("no exam item has a check both models ran; the reference loss decides alone")
    if holdout_context is None and "holdout" not in parts:
        notes.append("no holdout: the exam decides alone")
    described = {name: f"{name}: {_shown(interval, unit)} (positive favours {candidate}; margin {delta:.4f})"
                 for name, (_status_, interval, delta, unit) in metrics.items()}
    shown_worse, not_shown = guards
    worse = [described[name] for name, (status, *_rest) in metrics.items() if status == "worse"]
    if worse:
        return "reject", [f"{candidate} is worse than {against} beyond the margin: " + "; ".join(worse),
                          *shown_worse, *notes]
    if shown_worse:
        return "reject", [*shown_worse, *described.values(), *notes]
    if missing:
        return "hold", ["insufficient evidence: " + "; ".join(missing), *described.values(), *notes]
    unclear = [described[name] for name, (status, *_rest) in metrics.items() if status == "unclear"]
    loss_better = all(metrics[name][0] == "better" for name in metrics if name.endswith("loss"))
    pass_better = metrics.get("pass rate", ("",))[0] == "better"
    categories = list(not_shown)
    if unclear or categories or not (loss_better or pass_better):
        why = (["could be worse than " + against + " by more than the margin: " + "; ".join(unclear)] if unclear
               else [] if categories else
               [f"no improvement beyond the margin over {against}: " + "; ".join(described.values())])
        return "hold", [*why, *categories, *(d for d in described.values() if categories), *notes]
    return "promote", [f"{candidate} is better than {against} beyond the margin and no metric or guarded category "
                       "is worse: " + "; ".join(described.values()), *notes]

