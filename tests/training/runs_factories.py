"""Factories for training-run tests: a small snapshot file on disk and its row."""

import hashlib
import itertools
import json

from django.conf import settings

from curation.models import DatasetSnapshot

_seq = itertools.count(1)


def _rows(count: int, eval_every: int, salt: int) -> list[dict]:
    rows = []
    for i in range(count):
        rows.append({
            "instruction": f"Say which colour item {i % 4} has (set {salt}).",
            "input": "",
            "output": ["red", "green", "blue", "yellow"][i % 4] + " is the colour.",
            "split": "eval" if (i + 1) % eval_every == 0 else "train",
            "source": {"kind": "lesson", "id": i + 1, "ref": f"lesson-{i + 1}"},
        })
    return rows


def make_snapshot(rows: int = 12, *, eval_every: int = 4, name: str | None = None) -> DatasetSnapshot:
    """Write an alpaca snapshot under DATA_DIR/datasets/<sha256>.jsonl and register it."""
    records = _rows(rows, eval_every, next(_seq))
    body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()
    sha = hashlib.sha256(body).hexdigest()
    folder = settings.DATA_DIR / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{sha}.jsonl").write_bytes(body)
    train = sum(r["split"] == "train" for r in records)
    return DatasetSnapshot.objects.create(
        name=name or f"snapshot-{next(_seq)}", sha256=sha, format="alpaca", path=f"datasets/{sha}.jsonl",
        row_count=len(records), train_count=train, eval_count=len(records) - train)
