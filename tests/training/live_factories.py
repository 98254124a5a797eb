"""Plain factories for runs, metric points and log lines (live monitoring tests)."""

import itertools
import time

from curation.models import DatasetSnapshot
from training.models import MetricPoint, RunLogLine, RunStatus, TrainingRun

_seq = itertools.count(1)


def make_snapshot(**extra) -> DatasetSnapshot:
    n = next(_seq)
    sha = f"{n:064x}"
    extra.setdefault("name", f"dataset {n}")
    return DatasetSnapshot.objects.create(sha256=sha, format="alpaca", path=f"datasets/{sha}.jsonl", row_count=10,
                                          train_count=9, eval_count=1, **extra)


def make_run(*, status=RunStatus.RUNNING, hyperparameters=None, **extra) -> TrainingRun:
    extra.setdefault("dataset", make_snapshot())
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
