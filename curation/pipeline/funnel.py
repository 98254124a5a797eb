"""The funnel: per stage, how many examples came in, were kept and dropped, and why."""

from collections import Counter

from curation.pipeline.secrets import scrub_text

SAMPLE_CHARS = 300


def _sample(example, reason: str, detail=None) -> dict:
    # Samples are scrubbed again: a filter may drop an example before it would be redacted,
    # and samples end up in the database and on screen.
    text, _ = scrub_text(example.text())
    sample = {"source": example.source, "reason": reason,
              "text": text[:SAMPLE_CHARS] + ("…" if len(text) > SAMPLE_CHARS else "")}
    if detail:
        sample["duplicate_of"] = detail
    return sample


class Funnel:
    def __init__(self, max_samples: int = 3):
        self.max_samples = max_samples
        self.stages: list[dict] = []

    def record(self, stage: str, count_in: int, kept: int, dropped: list, **extra) -> dict:
        """`dropped` holds (example, reason) or (example, reason, detail) tuples."""
        reasons = Counter(item[1] for item in dropped)
        entry = {"stage": stage, "in": count_in, "kept": kept, "dropped": len(dropped),
                 "reasons": dict(sorted(reasons.items())),
                 "samples": [_sample(*item) for item in dropped[:self.max_samples]], **extra}
        self.stages.append(entry)
        return entry

    def as_list(self) -> list[dict]:
        return self.stages
