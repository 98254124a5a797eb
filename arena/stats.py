"""Paired statistics: per-item differences and a paired bootstrap confidence interval.

Pure Python with a seeded generator, so the same items and seed give the same interval
on every machine.
"""

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
    """Mean of the paired differences and its bootstrap interval: {"n", "mean", "low", "high"}.

    Each resample draws len(differences) items with replacement; the interval is the
    central `confidence` share of the resampled means.
    """
    n = len(differences)
    if n == 0:
        return {"n": 0, "mean": None, "low": None, "high": None}
    rng = random.Random(seed)
    means = sorted(sum(differences[rng.randrange(n)] for _ in range(n)) / n for _ in range(samples))
    tail = (1 - confidence) / 2
    return {"n": n, "mean": statistics.fmean(differences), "low": percentile(means, tail),
            "high": percentile(means, 1 - tail)}
