"""After a run: store each training example's final loss against its source record.

The trainer writes <run_dir>/example_losses.jsonl with the snapshot line number of each
example; the snapshot row on that line names its source record (the lineage), which is
where curation keeps the loss and the "hard" / "likely mislabelled" flags. Only train-split
losses count: an eval example was never trained on, so its loss says nothing about a label the
model "could not fit after training on it", and pooling both would mix two distributions.
"""

import json
import logging
from pathlib import Path

from django.conf import settings

from curation.services.feedback import record_training_losses
from training.trainer.data import to_messages
from training.trainer.example_losses import FILE_NAME

logger = logging.getLogger(__name__)


def record_example_losses(run) -> int:
    """on_run_succeeded hook: map the run's per-example losses to source records; returns how many."""
    losses_path = Path(settings.DATA_DIR) / run.run_dir / FILE_NAME
    if not run.run_dir or not losses_path.is_file() or run.dataset_id is None:
        return 0
    snapshot = Path(settings.DATA_DIR) / run.dataset.path
    try:
        lines = snapshot.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        logger.warning("run %s: snapshot %s unreadable, no per-example feedback: %s", run.pk, snapshot, exc)
        return 0
    rows, texts = [], {}
    for entry in (json.loads(line) for line in losses_path.read_text().splitlines() if line.strip()):
        number = entry.get("line") or 0
        if not 1 <= number <= len(lines) or entry.get("split", "train") != "train":
            continue
        record = json.loads(lines[number - 1])
        source = record.get("source") or {}
        if source.get("kind") is None or source.get("id") is None:
            continue
        key = (source["kind"], int(source["id"]))
        rows.append({"kind": key[0], "id": key[1], "loss": entry["loss"]})
        _, messages = to_messages(record)
        texts[key] = ("\n".join(m["content"] for m in messages[:-1] if m["role"] != "assistant"),
                      messages[-1]["content"])
    return record_training_losses(run.pk, rows, texts)
