"""The canary's sequential test in repeated simulations: false promotions, power, and exposure to a worse candidate.

    .venv/bin/python bench/canary_policy.py [--runs 2000] [--share 0.1] [--confidence 0.95] [--max-samples 500]

Each simulated canary routes conversations to the candidate with probability `share`, draws each
outcome from a known success rate per version, and reads the test after every outcome, exactly
as models_registry.canary does (canary_stats.read, promoted above min_effect, rolled back below
zero, "no difference" at max_samples candidate outcomes). Scenarios:

- equal rates (0.6 / 0.6): any promotion is a false promotion; its rate must stay <= 1 - confidence;
- a better candidate (0.6 -> 0.75): how often it is promoted and after how many conversations;
- a worse candidate (0.6 -> 0.45): how often it is rolled back, and how many conversations it
  answered before that (the exposure).

Baseline in the same run: the same data read after every outcome by a fixed-sample two-proportion
z-test at the same confidence (the usual A/B test, peeked at); its false promotion rate is what the
always-valid interval avoids. The ratio of the two is printed.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models_registry.canary_stats import Arm, read  # noqa: E402


def z_decision(c: Arm, b: Arm, confidence: float) -> str:
    """A two-proportion z-test as if the sample size had been fixed in advance."""
    if c.n < 2 or b.n < 2:
        return ""
    pooled = (c.successes + b.successes) / (c.n + b.n)
    se = math.sqrt(max(pooled * (1 - pooled) * (1 / c.n + 1 / b.n), 1e-12))
    z = (c.rate - b.rate) / se
    critical = statistics.NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    return "better" if z > critical else ("worse" if z < -critical else "")


def simulate(rng: random.Random, rates: tuple[float, float], *, share: float, confidence: float,
             max_samples: int, rule: str) -> tuple[str, int, int]:
    """(decision, conversations, conversations answered by the candidate)."""
    cs = cn = bs = bn = 0
    conversations = 0
    while cn < max_samples:
        conversations += 1
        if rng.random() < share:
            cn += 1
            cs += rng.random() < rates[1]
        else:
            bn += 1
            bs += rng.random() < rates[0]
        c, b = Arm(cs, cn), Arm(bs, bn)
        decision = (read(c, b, confidence=confidence, tuned_for=max_samples).decision if rule == "sequential"
                    else z_decision(c, b, confidence))
        if decision:
            return decision, conversations, cn
    return "no_difference", conversations, cn


def scenario(name: str, rates, runs: int, rule: str, args, seed: int) -> dict:
    rng = random.Random(seed)
    results = [simulate(rng, rates, share=args.share, confidence=args.confidence, max_samples=args.max_samples,
                        rule=rule) for _ in range(runs)]
    decided = {d: [r for r in results if r[0] == d] for d in ("better", "worse", "no_difference")}
    return {"name": name, "rule": rule, "runs": runs,
            "promoted": len(decided["better"]) / runs, "rolled_back": len(decided["worse"]) / runs,
            "no_difference": len(decided["no_difference"]) / runs,
            "median_conversations": statistics.median(r[1] for r in results),
            "median_exposed_worse": statistics.median(r[2] for r in decided["worse"]) if decided["worse"] else None,
            "p95_exposed_worse": sorted(r[2] for r in decided["worse"])[int(0.95 * (len(decided["worse"]) - 1))]
            if decided["worse"] else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--max-samples", type=int, default=500)
    args = parser.parse_args()
    alpha = 1 - args.confidence
    print(f"share {args.share}, confidence {args.confidence}, max {args.max_samples} candidate outcomes, "
          f"{args.runs} runs per scenario; the test is read after every outcome")
    rows = []
    for rule in ("sequential", "fixed-n z-test (peeked)"):
        key = "sequential" if rule == "sequential" else "z"
        rows.append(scenario("equal 0.6 / 0.6", (0.6, 0.6), args.runs, key, args, 1))
        rows.append(scenario("better 0.6 -> 0.75", (0.6, 0.75), args.runs, key, args, 2))
        rows.append(scenario("worse 0.6 -> 0.45", (0.6, 0.45), args.runs, key, args, 3))
    print(f"{'rule':12} {'scenario':20} {'promoted':>9} {'rolled back':>12} {'no diff':>8} "
          f"{'median conv':>12} {'exposed (worse) median/p95':>28}")
    for row in rows:
        exposed = (f"{row['median_exposed_worse']:.0f} / {row['p95_exposed_worse']}"
                   if row["median_exposed_worse"] is not None else "-")
        print(f"{row['rule']:12} {row['name']:20} {row['promoted']:9.3f} {row['rolled_back']:12.3f} "
              f"{row['no_difference']:8.3f} {row['median_conversations']:12.0f} {exposed:>28}")
    sequential, peeked = rows[0]["promoted"], rows[3]["promoted"]
    print(f"false promotion rate: sequential {sequential:.4f} (level {alpha:.3f}), peeked z-test {peeked:.4f}; "
          + (f"ratio peeked/sequential {peeked / sequential:.1f}" if sequential else
             f"ratio peeked/sequential > {peeked * args.runs:.0f} (no sequential false promotion in {args.runs} runs)"))
    print("PASS" if sequential <= alpha else "FAIL", "false promotions at or below the configured level")


if __name__ == "__main__":
    main()
