"""Stage 2: the dataset-stage scrubber, a second line behind the one at ingestion.

Records stored since ingestion scrubbing arrive here already redacted (their markers are
left alone); older records are redacted here before anything is written. The detector
itself lives in curation.secrets.
"""

from collections import Counter

from curation.secrets import scrub_text

__all__ = ["scrub_example", "scrub_text"]


def scrub_example(example) -> Counter:
    """Redact secrets in every text field of `example` in place; return counts per kind."""
    total: Counter = Counter()

    def scrub(text: str) -> str:
        clean, found = scrub_text(text)
        total.update(found)
        return clean

    example.map_text(scrub)
    return total
