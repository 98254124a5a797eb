"""What a run's websocket sends first: the run's state, its points and its log tail.

A first snapshot holds at most LIVE_SNAPSHOT_MAX_POINTS points per series (downsampled
for the chart, and flagged so); a resume holds every point after the client's marks.

Read from the database, so it must only be taken after the consumer subscribed to the
run's group (see training.consumers): events published meanwhile then arrive after the
snapshot and are deduplicated against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from training.live_events import point_dict
from training.models import MetricPoint, RunLogLine, TrainingRun

RUN_FIELDS = ("id", "status", "progress", "eta_seconds", "current_step", "total_steps", "human_error")


@dataclass(frozen=True)
class After:
    """Where a reconnecting client stopped: the last train step, eval step and log line it saw."""

    step: int = -1
    eval_step: int | None = None
    log_seq: int = -1

    @property
    def resumed(self) -> bool:
        return self.step >= 0 or (self.eval_step or -1) >= 0 or self.log_seq >= 0

    @property
    def eval(self) -> int:
        return self.step if self.eval_step is None else self.eval_step


def parse_after(values: dict) -> After:
    """Read after_step / after_eval_step / after_log_seq; ValueError names a bad one."""
    parsed = {}
    for key, name in (("after_step", "step"), ("after_eval_step", "eval_step"), ("after_log_seq", "log_seq")):
        raw = values.get(key)
        if raw is None or raw == "":
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise ValueError(f"{key} must be an integer")
        try:
            number = int(raw)
        except ValueError:
            raise ValueError(f"{key} must be an integer, not {str(raw)[:40]!r}") from None
        if number < -1:
            raise ValueError(f"{key} must be -1 or more")
        parsed[name] = number
    return After(**parsed)


def run_state(run: TrainingRun) -> dict:
    """The run as the snapshot shows it; its times as the run's job.status gives them (ISO 8601)."""
    status = run.status_payload()
    return {**{name: getattr(run, name) for name in RUN_FIELDS},
            **{name: status[name] for name in ("is_terminal", "started_at", "finished_at")}}


def load_snapshot(run_id: int, after: After = After()) -> dict | None:
    """The snapshot message for a run (None when the run does not exist)."""
    run = TrainingRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    # Only a full snapshot is thinned, for the chart; a resume delivers every point the
    # client missed, however many, so the series it holds has no gaps.
    limit = None if after.resumed else settings.LIVE_SNAPSHOT_MAX_POINTS
    train, train_total = _points(run_id, MetricPoint.Kind.TRAIN, after.step, limit)
    evals, eval_total = _points(run_id, MetricPoint.Kind.EVAL, after.eval, limit)
    lines = list(RunLogLine.objects.filter(run_id=run_id, seq__gt=after.log_seq)
                 .order_by("-seq").values("seq", "text", "ts")[: settings.LIVE_LOG_TAIL_LINES])
    lines.reverse()
    return {
        "type": "snapshot",
        "resumed": after.resumed,
        "run": run_state(run),
        "points": train + evals,
        "logs": lines,
        "downsampled": len(train) < train_total or len(evals) < eval_total,
        "total_points": {"train": train_total, "eval": eval_total},
        # The high-water marks the client resumes from (also when nothing new was sent).
        "last_step": train[-1]["step"] if train else after.step,
        "last_eval_step": evals[-1]["step"] if evals else after.eval,
        "last_log_seq": lines[-1]["seq"] if lines else after.log_seq,
    }


def _points(run_id: int, kind: str, after_step: int, limit: int | None) -> tuple[list[dict], int]:
    rows = list(MetricPoint.objects.filter(run_id=run_id, kind=kind, step__gt=after_step).order_by("step")
                .values_list("step", "epoch", "loss", "learning_rate", "ts"))
    total = len(rows)
    if limit is not None and total > limit:
        rows = lttb(rows, limit, y=lambda row: row[2])
    return [point_dict(kind, step, epoch, loss, lr=lr, ts=ts) for step, epoch, loss, lr, ts in rows], total


def lttb(rows: list, threshold: int, *, y) -> list:
    """Largest-Triangle-Three-Buckets downsampling on (step, y); keeps the first and last row.

    Keeps the visual shape of a loss curve (spikes survive) far better than a stride.
    """
    if threshold >= len(rows) or threshold < 3:
        return rows if threshold >= len(rows) else [rows[0], rows[-1]]

    def yv(row):
        value = y(row)
        return 0.0 if value is None else value

    sampled = [rows[0]]
    bucket = (len(rows) - 2) / (threshold - 2)
    a = 0
    for i in range(threshold - 2):
        start, end = int(i * bucket) + 1, int((i + 1) * bucket) + 1
        nxt_start, nxt_end = end, min(int((i + 2) * bucket) + 1, len(rows))
        nxt = rows[nxt_start:nxt_end] or [rows[-1]]
        avg_x = sum(r[0] for r in nxt) / len(nxt)
        avg_y = sum(yv(r) for r in nxt) / len(nxt)
        ax, ay = rows[a][0], yv(rows[a])
        best, best_area = start, -1.0
        for j in range(start, end):
            area = abs((ax - avg_x) * (yv(rows[j]) - ay) - (ax - rows[j][0]) * (avg_y - ay))
            if area > best_area:
                best, best_area = j, area
        sampled.append(rows[best])
        a = best
    sampled.append(rows[-1])
    return sampled
