"""Chain the stages over in-memory examples and record the funnel.

No database writes and no files here: `run_pipeline` returns the ordered examples ready
for an exporter, plus the funnel and statistics. A stage that leaves nothing raises
`EmptyDatasetError` naming that stage.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from curation.pipeline import dedup, filters, mix, secrets
from curation.pipeline.funnel import Funnel
from curation.pipeline.split import assign_splits
from curation.pipeline.stats import compute_stats


class EmptyDatasetError(Exception):
    """A stage removed every example; `stage` names it and `funnel` shows how."""

    def __init__(self, stage: str, message: str, funnel: list):
        super().__init__(message)
        self.stage = stage
        self.funnel = funnel


@dataclass
class PipelineResult:
    examples: list
    funnel: list
    stats: dict


def _scrub(examples: list, mode: str) -> tuple[list, list, Counter]:
    kept, dropped, found = [], [], Counter()
    for example in examples:
        counts = secrets.scrub_example(example)
        found.update(counts)
        if counts and mode == "drop":
            dropped.append((example, "secret:" + ",".join(sorted(counts))))
        else:
            kept.append(example)
    return kept, dropped, found


def _filter(examples: list, config: dict) -> tuple[list, list]:
    kept, dropped = [], []
    for example in examples:
        reason = filters.reject_reason(example, config)
        if reason:
            dropped.append((example, reason))
        else:
            kept.append(example)
    return kept, dropped


def _check_not_empty(stage: str, kept: list, entry: dict, funnel: Funnel) -> None:
    if kept:
        return
    if entry["in"] == 0:
        message = f"stage '{stage}' found no approved examples in the chosen sources"
    else:
        why = ", ".join(f"{reason}: {n}" for reason, n in entry["reasons"].items())
        message = f"stage '{stage}' removed every example ({entry['in']} in; {why})"
    raise EmptyDatasetError(stage, message, funnel.as_list())


def run_pipeline(examples: list, config: dict, *, max_samples: int = 3,
                 progress: Callable[[float], None] | None = None) -> PipelineResult:
    """Scrub, filter, deduplicate and split `examples` according to `config` (see config.py)."""
    progress = progress or (lambda fraction: None)
    funnel = Funnel(max_samples)
    entry = funnel.record("sources", len(examples), len(examples), [], by_source=mix.counts_by_source(examples))
    _check_not_empty("sources", examples, entry, funnel)

    kept, dropped, found = _scrub(examples, config["secrets_mode"])
    entry = funnel.record("secrets", len(examples), len(kept), dropped, found=dict(sorted(found.items())))
    _check_not_empty("secrets", kept, entry, funnel)
    progress(0.3)

    stages = [
        ("filters", lambda items: _filter(items, config["filters"])),
        ("exact_dedup", dedup.exact_dedup),
        ("near_dedup", lambda items: dedup.near_dedup(items, threshold=config["dedup"]["jaccard_threshold"],
                                                      num_perm=config["dedup"]["num_perm"],
                                                      shingle_words=config["dedup"]["shingle_words"])),
        ("mix", lambda items: mix.mix_sources(items, config.get("mix") or {}, seed=config["split"]["seed"])),
    ]
    for index, (stage, run) in enumerate(stages):
        count_in = len(kept)
        kept, dropped = run(kept)
        entry = funnel.record(stage, count_in, len(kept), dropped, by_source=mix.counts_by_source(kept))
        _check_not_empty(stage, kept, entry, funnel)
        progress(0.3 + 0.2 * (index + 1))

    assign_splits(kept, eval_fraction=config["split"]["eval_fraction"], seed=config["split"]["seed"])
    kept.sort(key=lambda e: (e.kind, e.id))
    return PipelineResult(examples=kept, funnel=funnel.as_list(), stats=compute_stats(kept, found))
