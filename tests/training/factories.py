"""Plain factories for training tests: dataset snapshots with real files, runs, metric points, log lines."""

import hashlib
import itertools
import json
import time

from django.conf import settings

from curation.models import DatasetSnapshot
from jobs.models import JobStatus
from training.models import MetricPoint, RunLogLine, TrainingRun

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


# ---------------------------------------------------------------------------- runs and live data
_row_seq = itertools.count(1)


def _snapshot_row(**extra) -> DatasetSnapshot:
    """A snapshot row without a file (enough for runs that never execute)."""
    n = next(_row_seq)
    sha = f"{n:064x}"
    extra.setdefault("name", f"dataset {n}")
    return DatasetSnapshot.objects.create(sha256=sha, format="alpaca", path=f"datasets/{sha}.jsonl", row_count=10,
                                          train_count=9, eval_count=1, **extra)


def make_run(*, status=JobStatus.RUNNING, hyperparameters=None, **extra) -> TrainingRun:
    extra.setdefault("dataset", _snapshot_row())
    extra.setdefault("base_model", "toy/tiny-llama")
    return TrainingRun.objects.create(status=status, hyperparameters=hyperparameters or {"lr": 0.0002, "epochs": 1},
                                      **extra)


def metric_event(step: int, loss: float | None = None) -> dict:
    """A trainer protocol line for one train step."""
    return {"event": "metric", "step": step, "epoch": round(step / 10, 2), "loss": loss or 2.0 / step,
            "lr": 0.0002, "ts": time.time()}


def add_points(run: TrainingRun, steps, kind=MetricPoint.Kind.TRAIN) -> list[dict]:
    """Store points for these steps and return them as protocol events (store first, then publish)."""
    events = [metric_event(step) if kind == MetricPoint.Kind.TRAIN else
              {"event": "eval", "step": step, "eval_loss": 1.5 / step, "ts": time.time()} for step in steps]
    MetricPoint.objects.bulk_create([
        MetricPoint(run=run, kind=kind, step=e["step"], epoch=e.get("epoch"), loss=e.get("loss", e.get("eval_loss")),
                    learning_rate=e.get("lr"), ts=e["ts"]) for e in events])
    return events


def add_log_lines(run: TrainingRun, seqs) -> list[dict]:
    events = [{"event": "log", "seq": seq, "text": f"line {seq}", "ts": time.time()} for seq in seqs]
    RunLogLine.objects.bulk_create([RunLogLine(run=run, seq=e["seq"], text=e["text"], ts=e["ts"]) for e in events])
    return events
