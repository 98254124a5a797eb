"""Paired statistics: Student t intervals and one-sided tests on per-item differences, Holm's correction.

Pure Python (no numpy or scipy at run time), so the same items give the same interval on
every machine. The policy uses `mean_interval`: a t interval is deterministic and does not
depend on the order of the items; at the exam sizes we see (tens of items) it is wider, and
honest, where a percentile bootstrap is too narrow (it has no small-sample correction and
gives a zero-width interval for one item). Training randomness does not shrink with more
items, so a measured between-seed variance is added to the item variance (`extra_variance`).
`paired_bootstrap` stays for benchmarks that compare with the old policy.
"""

import functools
import math
import random
import statistics


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not sorted_values:
        raise ValueError("no values")
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def paired_bootstrap(differences: list[float], *, samples: int = 2000, seed: int = 0,
                     confidence: float = 0.95) -> dict:
    """Mean of the paired differences and its percentile bootstrap interval: {"n", "mean", "low", "high"}."""
    n = len(differences)
    if n == 0:
        return {"n": 0, "mean": None, "low": None, "high": None}
    rng = random.Random(seed)
    means = sorted(sum(differences[rng.randrange(n)] for _ in range(n)) / n for _ in range(samples))
    tail = (1 - confidence) / 2
    return {"n": n, "mean": statistics.fmean(differences), "low": percentile(means, tail),
            "high": percentile(means, 1 - tail)}


# ---------------------------------------------------------------------------- Student t
def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta function (Lentz's method)."""
    tiny, front = 1e-300, 1.0
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            front = c * d
            result *= front
        if abs(front - 1.0) < 1e-14:
            break
    return result


def _incomplete_beta(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@functools.lru_cache(maxsize=4096)
def t_quantile(probability: float, df: float) -> float:
    """The t value with P(T <= t) = probability (bisection on t_cdf; exact to ~1e-10)."""
    if not 0.0 < probability < 1.0:
        raise ValueError("probability must be between 0 and 1")
    low, high = -1e3, 1e3
    for _ in range(200):
        middle = (low + high) / 2
        if t_cdf(middle, df) < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2


# ---------------------------------------------------------------------------- intervals and tests
def mean_interval(differences: list[float], *, confidence: float = 0.95, extra_variance: float = 0.0) -> dict:
    """Mean of paired differences with a two-sided t interval: {"n", "mean", "sd", "se", "df", "low", "high"}.

    se**2 = sd**2 / n + extra_variance (a between-seed variance of the mean difference that more items
    cannot remove). Fewer than two items give no interval (low and high are None).
    """
    n = len(differences)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "se": None, "df": None, "low": None, "high": None}
    mean = math.fsum(differences) / n
    if n < 2:
        return {"n": 1, "mean": mean, "sd": None, "se": None, "df": None, "low": None, "high": None}
    sd = statistics.stdev(differences)
    se = math.sqrt(sd * sd / n + max(extra_variance, 0.0))
    df = n - 1
    half = t_quantile(1 - (1 - confidence) / 2, df) * se
    return {"n": n, "mean": mean, "sd": sd, "se": se, "df": df, "low": mean - half, "high": mean + half}


def paired_proportion_interval(outcomes: list[tuple[bool, bool]], *, confidence: float = 0.95,
                               extra_variance: float = 0.0) -> dict:
    """Difference of two paired pass rates (first minus second) with the Agresti-Min interval.

    Adding half an observation to each cell of the 2x2 table before a Wald interval (Agresti & Min,
    2005) keeps the interval honest for few items and for tables with no discordant pair, where the
    plain interval has zero width. Returns mean_interval's keys plus "center" (the adjusted difference)
    and "discordant" ([first only, second only]).
    """
    n = len(outcomes)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "se": None, "df": None, "low": None, "high": None}
    only_first = sum(1 for a, b in outcomes if a and not b)
    only_second = sum(1 for a, b in outcomes if b and not a)
    adjusted = n + 2
    p10, p01 = (only_first + 0.5) / adjusted, (only_second + 0.5) / adjusted
    center = p10 - p01
    se = math.sqrt(max((p10 + p01 - center * center) / adjusted, 0.0) + max(extra_variance, 0.0))
    df = max(n - 1, 1)
    half = t_quantile(1 - (1 - confidence) / 2, df) * se
    return {"n": n, "mean": (only_first - only_second) / n, "center": center, "sd": None, "se": se, "df": df,
            "low": max(center - half, -1.0), "high": min(center + half, 1.0),
            "discordant": [only_first, only_second]}


def seed_variance(scores: list[list[float]]) -> dict:
    """The between-seed variance of a recipe's mean score that more items cannot average away.

    scores: one row per replica (same recipe, other seeds), one column per item they share. The SD of the
    replicas' means on these n items is sqrt(seed + interaction / n): a part common to all items (the seed
    moved the whole model) and a part that differs item by item (the seed flipped this answer, not that one).
    A paired interval's item variance already holds the second part, so adding it again counts it twice
    (and most at small n, where it is largest). The two-way random-effects ANOVA (replica x item, one
    observation per cell) separates them: seed = (MS_replica - MS_residual) / n, floored at 0.
    Returns {"variance": seed, "sd": its root, "sd_of_means": the raw SD, "replicas", "items"}.
    """
    replicas, items = len(scores), len(scores[0]) if scores else 0
    if replicas < 2 or items < 2 or any(len(row) != items for row in scores):
        raise ValueError("need at least 2 replicas scored on the same 2 or more items")
    row_means = [math.fsum(row) / items for row in scores]
    col_means = [math.fsum(row[i] for row in scores) / replicas for i in range(items)]
    grand = math.fsum(row_means) / replicas
    between = statistics.variance(row_means)  # = MS_replica / n
    residual = math.fsum((row[i] - row_means[r] - col_means[i] + grand) ** 2
                         for r, row in enumerate(scores) for i in range(items)) / ((replicas - 1) * (items - 1))
    variance = max(between - residual / items, 0.0)
    return {"variance": variance, "sd": math.sqrt(variance), "sd_of_means": math.sqrt(between),
            "replicas": replicas, "items": items}


def p_above(interval: dict, bound: float) -> float:
    """One-sided p-value of H0 "true mean <= bound" against "true mean > bound", from an interval's numbers."""
    mean, se, df = interval.get("center", interval.get("mean")), interval.get("se"), interval.get("df")
    if mean is None or df is None:
        return 1.0
    if not se:
        return 0.0 if mean > bound else 1.0
    return 1.0 - t_cdf((mean - bound) / se, df)


def p_below(interval: dict, bound: float) -> float:
    """One-sided p-value of H0 "true mean >= bound" against "true mean < bound"."""
    mean, se, df = interval.get("center", interval.get("mean")), interval.get("se"), interval.get("df")
    if mean is None or df is None:
        return 1.0
    if not se:
        return 0.0 if mean < bound else 1.0
    return t_cdf((mean - bound) / se, df)


def holm(p_values: dict, alpha: float) -> dict:
    """{name: True when its hypothesis is rejected} under Holm's step-down correction at family level alpha."""
    rejected, order = {}, sorted(p_values, key=lambda name: (p_values[name], name))
    stopped = False
    for rank, name in enumerate(order):
        if not stopped and p_values[name] <= alpha / (len(order) - rank):
            rejected[name] = True
        else:
            stopped = True
            rejected[name] = False
    return rejected
