"""Stage: the mix of sources — per-source caps, mixing weights and the reviewed share.

Auto-approved git history can outnumber reviewed lessons a hundred to one and bury them.
After deduplication this stage keeps, per source, at most its cap; with weights, the
largest set in exactly those proportions; and then at most as many commit examples as
keeps lessons plus conversations at `min_reviewed_share` of the dataset (0.5 by default),
when there are any. Which examples stay is a seeded sample, so a build is repeatable.
"""

import math
import random

KINDS = {"lessons": "lesson", "commits": "commit", "conversations": "conversation"}
REVIEWED = ("lessons", "conversations")


def plan(available: dict[str, int], mix: dict) -> tuple[dict[str, int], dict[str, str]]:
    """How many examples of each source to keep, and the reason for each source that loses some."""
    keep = dict(available)
    why: dict[str, str] = {}
    for source, cap in (mix.get("caps") or {}).items():
        if cap and keep.get(source, 0) > cap:
            keep[source], why[source] = cap, "cap"
    weights = {s: w for s, w in (mix.get("weights") or {}).items() if w and keep.get(s)}
    if weights:
        scale = min(keep[s] / w for s, w in weights.items())
        for source in list(keep):
            target = math.floor(scale * weights[source] + 1e-9) if source in weights else 0
            if target < keep[source]:
                keep[source], why[source] = target, "weight"
    share = mix.get("min_reviewed_share") or 0
    reviewed = sum(keep.get(s, 0) for s in REVIEWED)
    if reviewed and share > 0 and keep.get("commits"):
        most = math.floor(reviewed * (1 - share) / share + 1e-9)
        if keep["commits"] > most:
            keep["commits"], why["commits"] = most, "reviewed_share"
    return keep, why


def mix_sources(examples: list, mix: dict, *, seed: int) -> tuple[list, list]:
    """Keep what plan() allows; dropped items are (example, reason) for the funnel."""
    by_source: dict[str, list] = {source: [] for source in KINDS}
    source_of = {kind: source for source, kind in KINDS.items()}
    for example in examples:
        by_source[source_of[example.kind]].append(example)
    keep, why = plan({s: len(items) for s, items in by_source.items()}, mix)
    chosen: set[int] = set()
    for source, items in by_source.items():
        if keep[source] < len(items):
            picked = random.Random(f"{seed}:{source}").sample(range(len(items)), keep[source])
            chosen |= {id(items[i]) for i in picked}
        else:
            chosen |= {id(item) for item in items}
    kept = [e for e in examples if id(e) in chosen]
    dropped = [(e, f"{why[source_of[e.kind]]}:{source_of[e.kind]}") for e in examples if id(e) not in chosen]
    return kept, dropped


def counts_by_source(examples: list) -> dict[str, int]:
    source_of = {kind: source for source, kind in KINDS.items()}
    counts = {source: 0 for source in KINDS}
    for example in examples:
        counts[source_of[example.kind]] += 1
    return counts
