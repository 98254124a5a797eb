"""What a promotion risks while the recipe's seed noise is unknown, and why the policy holds it.

With no replica of the candidate's recipe scored on the same questions and no ARENA_SEED_SD, the
policy's margin is the practical minimum (ARENA_MIN_EFFECT) alone. bench/arena_policy.py measured
how often that lets one retrain of a recipe be promoted over another retrain of the same recipe (same
data and settings, another seed): never on the toy model, whose seed noise is under 1% of its loss,
but on the real model (SmolLM2-135M-Instruct, 10 retrains, docs/benchmarks.md) in the share of pairs
below, above the 5% target from 80 items on. So a verdict never promotes on the minimum alone
with the noise unknown: it assumes a seed SD (ARENA_ASSUMED_SEED_SD, several times any measured) and
promotes only a gain beyond it, or, with that set to 0, holds until the noise is measured, at every
exam size; the Professor trains replicas and decides again before it promotes by itself
(professor/replicas.py).
"""

import math

from django.conf import settings

# Exam items -> share of ordered pairs of same-data retrains promoted over each other with the seed noise
# unknown (bench/arena_policy.py --model smollm2: 11/3600, 583/3600 and 26/90).
FALSE_PROMOTIONS = {20: 11 / 3600, 80: 583 / 3600, 320: 26 / 90}
MEASURED_ON = "SmolLM2-135M-Instruct, 10 retrains of one recipe"


def nearest_size(items: int) -> int:
    """The benchmark's exam size nearest to `items`, on a log scale (the sizes are 4x apart)."""
    return min(FALSE_PROMOTIONS, key=lambda size: abs(math.log(max(items, 1) / size)))


def hold_reason(items: int) -> str:
    """Why a verdict that would promote is held while the seed noise is unknown, and what to do, in plain words."""
    size = nearest_size(items)
    return (f"insufficient evidence: seed noise unknown. This would be promoted on the practical minimum "
            f"(ARENA_MIN_EFFECT) alone; with the noise unknown, retrains of one recipe on the same data were "
            f"promoted over each other in {FALSE_PROMOTIONS[size]:.1%} of pairs at {size} exam items "
            f"(the benchmark's size nearest to this exam's {items}; {MEASURED_ON}, docs/benchmarks.md). "
            f"Train {settings.ARENA_MIN_REPLICAS - 1} or more replicas of this recipe (the same dataset and settings, "
            f"other seeds) and evaluate them on these questions, as the Professor does, or set ARENA_SEED_SD to "
            f"a measured seed SD; then evaluate the candidate again")


def assumed_reason(assumed_sd: float) -> str:
    """Why a promotion with the seed noise unknown still stands, in plain words: it cleared an assumed noise."""
    return (f"the recipe's seed noise is not measured, so the margin and interval assume a seed SD of "
            f"{assumed_sd:g} nats/token (ARENA_ASSUMED_SEED_SD, several times any measured here), and the gain "
            f"clears it; a smaller gain would need replicas of this recipe (the same dataset and settings, other "
            f"seeds) evaluated on these questions, as the Professor trains before it promotes by itself")
