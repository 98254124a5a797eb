"""The canary's sequential test: an always-valid confidence sequence for a difference of success rates.

Each version's outcomes are a stream of successes (1) and failures (0). For one stream the
running sum S_n - n*mu has 1/2-sub-Gaussian increments, and Robbins' normal-mixture
martingale gives a confidence sequence that holds at every n at once:

    |S_n - n*mu| < sqrt((n/4 + rho) * log((n/4 + rho) / (rho * a**2)))

(Robbins 1970, "Statistical methods related to the law of the iterated logarithm"; in the
form of Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric,
nonasymptotic confidence sequences", Annals of Statistics 49(2), eq. (14), with sigma = 1/2).
Each version's sequence is built at level a = alpha/2; by the union bound the interval

    [low_candidate - high_active, high_candidate - low_active]

covers the true difference at every moment with probability at least 1 - alpha. It can
therefore be looked at after every outcome: the chance that it ever leaves zero while the
rates are equal stays below alpha, however often it is read.

`rho` tunes where the boundary is tightest; `mixture_rho(m, a)` picks it for m outcomes
(Howard et al. 2021, section 3.5). No Django import: the benchmark runs it on its own.
"""

import math
from dataclasses import dataclass

SIGMA2 = 0.25  # variance proxy of an outcome in [0, 1]


def mixture_rho(samples: int, alpha: float) -> float:
    """The mixture variance that makes the boundary tightest near `samples` outcomes."""
    log_term = -2 * math.log(alpha)
    return SIGMA2 * samples / (log_term + math.log(1 + log_term))


def radius(n: int, alpha: float, rho: float) -> float:
    """Half-width of the confidence sequence for a mean after n outcomes (inf before the first)."""
    if n <= 0:
        return math.inf
    v = SIGMA2 * n + rho
    return math.sqrt(v * math.log(v / (rho * alpha ** 2))) / n


@dataclass(frozen=True)
class Arm:
    """One version's outcomes so far."""

    successes: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.successes / self.n if self.n else None

    def interval(self, alpha: float, rho: float) -> tuple[float, float]:
        if not self.n:
            return 0.0, 1.0
        r = radius(self.n, alpha, rho)
        return max(0.0, self.rate - r), min(1.0, self.rate + r)


@dataclass(frozen=True)
class Reading:
    """Where the test stands: the difference (candidate - active) and its always-valid interval."""

    difference: float | None
    low: float
    high: float
    decision: str  # "better", "worse" or "" (undecided)

    def to_dict(self) -> dict:
        return {"difference": self.difference, "low": self.low, "high": self.high, "decision": self.decision}


def read(candidate: Arm, active: Arm, *, confidence: float, tuned_for: int, min_effect: float = 0.0) -> Reading:
    """The confidence sequence on candidate rate minus active rate, and what it says.

    "better" once the whole interval lies above `min_effect`, "worse" once it lies below
    zero; otherwise undecided.
    """
    alpha = 1.0 - confidence
    a = alpha / 2
    rho = mixture_rho(max(1, tuned_for), a)
    c_low, c_high = candidate.interval(a, rho)
    b_low, b_high = active.interval(a, rho)
    low, high = c_low - b_high, c_high - b_low
    difference = (candidate.rate - active.rate) if candidate.n and active.n else None
    decision = "better" if low > min_effect else ("worse" if high < 0 else "")
    return Reading(difference, low, high, decision)


def p95(latencies: list[float]) -> float | None:
    """The 95th percentile (nearest rank) of the latencies; None without any."""
    if not latencies:
        return None
    ordered = sorted(latencies)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
