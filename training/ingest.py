"""Trainer stdout -> database rows and live events.

Each line is either a protocol event (a JSON object with an "event" key) or a log line.
Metric and eval points are stored idempotently (unique per run, kind and step, inserted
with ignore_conflicts), so replaying the same output never duplicates a point. Lines are
batched: one bulk insert and one broadcast per batch, flushed by size or age.

The run's log keeps what the trainer said in readable form: its log lines as they came, and
one line per protocol event (start, each loss, each evaluation, checkpoint, the end), all
scrubbed of secrets, stored and streamed. Only the newest KEEP_LOG_LINES stay stored; the
whole output is in the run folder's trainer.log.
"""

from __future__ import annotations

import json
import time
from collections import deque

from django.conf import settings
from django.db.models import Max

from curation.secrets import scrub_text
from jobs import broadcast, lifecycle
from training.backends.base import LogLine
from training.live_events import event_point
from training.models import MetricPoint, RunLogLine, TrainingRun
from training.shapes import check_artifacts
from training.trainer.example_losses import FILE_NAME as EXAMPLE_LOSSES_FILE

PROTOCOL_EVENTS = ("metric", "eval", "checkpoint", "done", "error", "start", "progress", "example_losses",
                   "stopped")
MAX_LOG_CHARS = 4000
# The stored tail of a run's log: older lines are deleted as new ones come.
KEEP_LOG_LINES = 2000


def parse_line(line: str) -> dict | None:
    """The protocol event on this line, or None when it is a log line."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("event") in PROTOCOL_EVENTS:
        return data
    return None


def _number(value):
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def describe_event(event: dict, total_steps: int = 0) -> str | None:
    """The protocol event as a readable log line (None for events the log does not show)."""
    kind = event.get("event")
    step = _int(event.get("step"))
    of = f"/{total_steps}" if total_steps else ""
    if kind == "start":
        parts = [f"{_int(event.get('total_steps')) or '?'} steps"]
        if isinstance(event.get("device"), str):
            parts.append(f"on {event['device']}" + (f" ({event['backend']})" if isinstance(event.get("backend"), str)
                                                     else ""))
        if _int(event.get("train_examples")) is not None:
            parts.append(f"{event['train_examples']} train / {_int(event.get('eval_examples')) or 0} eval examples")
        trainable, total = _int(event.get("trainable_params")), _int(event.get("total_params"))
        if trainable and total:
            parts.append(f"{trainable:,} of {total:,} parameters trained")
        resumed = _int(event.get("resumed_from_step"))
        return "start: " + ", ".join(parts) + (f"; resumed from step {resumed}" if resumed else "")
    if kind == "metric" and step is not None:
        parts = [f"step {step}{of}"]
        for name, label, shape in (("epoch", "epoch", "{:.2f}"), ("loss", "loss", "{:.4f}"), ("lr", "lr", "{:.2e}")):
            value = _number(event.get(name))
            if value is not None:
                parts.append(f"{label} {shape.format(value)}")
        speed = _number(event.get("tokens_per_s"))
        if speed is not None:
            parts.append(f"{speed:,.0f} tokens/s")
        return " · ".join(parts)
    if kind == "eval" and step is not None:
        loss = _number(event.get("eval_loss", event.get("loss")))
        return f"step {step}{of} · eval loss {loss:.4f}" if loss is not None else f"step {step}{of} · eval"
    if kind == "checkpoint" and step is not None:
        return f"checkpoint saved at step {step}"
    if kind == "error" and isinstance(event.get("message"), str):
        return f"error ({event.get('kind') or 'crash'}): {event['message']}"
    if kind == "stopped":
        return f"stopped on request at step {step}, with a checkpoint of it" if step is not None \
            else "stopped on request before training"
    if kind == "done":
        return "done: " + end_of_run(event.get("metrics") if isinstance(event.get("metrics"), dict) else {},
                                     total_steps)
    return None


def end_of_run(metrics: dict, total_steps: int = 0) -> str:
    """What happened at the end of a run, in words that match it: how many steps ran (of how many planned),
    whether it stopped early, and which step's adapter was kept."""
    steps, best = _int(metrics.get("steps")), _int(metrics.get("best_step"))
    best_loss, last_loss = _number(metrics.get("eval_loss")), _number(metrics.get("last_eval_loss"))
    if steps is None:
        return "the adapter is saved"
    if metrics.get("stopped_early") and total_steps and steps < total_steps:
        ran = f"stopped early at step {steps} of {total_steps} planned: the eval loss had stopped improving"
    else:
        ran = f"trained all {steps} steps" if not total_steps or steps >= total_steps else \
            f"trained {steps} of {total_steps} planned steps"
    if best is None or best_loss is None:
        return f"{ran}; the adapter is from the last step"
    if best == steps:
        return f"{ran}; the adapter is from the last step, where the eval loss was lowest ({best_loss:.4f})"
    last = f"; {last_loss:.4f} at step {steps}" if last_loss is not None else ""
    return f"{ran}; the adapter kept is from step {best}, where the eval loss was lowest ({best_loss:.4f}{last})"


class RunIngestor:
    """Feeds one run's output lines in; call flush() at the end (and close enough to often)."""

    def __init__(self, run: TrainingRun, *, batch_size: int | None = None, flush_seconds: float | None = None):
        self.run = run
        self.batch_size = batch_size or settings.TRAINING_INGEST_BATCH
        self.flush_seconds = settings.TRAINING_INGEST_FLUSH_SECONDS if flush_seconds is None else flush_seconds
        self.tail: deque[str] = deque(maxlen=settings.TRAINING_ERROR_TAIL_LINES)
        self.done: dict | None = None
        self.error: dict | None = None
        # The trainer stopped on SIGTERM, with a checkpoint of its last step (training.trainer.stopping).
        self.stopped: dict | None = None
        # {"path": key under the data root, "count": n} once the trainer wrote each example's final loss.
        self.example_losses: dict | None = None
        self.checkpoints: list[dict] = list((run.artifacts or {}).get("checkpoints", []))
        self.total_steps = run.total_steps
        self._seq = (RunLogLine.objects.filter(run=run).aggregate(m=Max("seq"))["m"] or 0)
        self._pruned_below = 0
        self._points: list[MetricPoint] = []
        self._logs: list[RunLogLine] = []
        self._events: list[dict] = []
        self._progress: dict = {}
        self._artifacts_dirty = False
        self._started = time.monotonic()
        self._first_step: tuple[int, float] | None = None
        self._last_flush = time.monotonic()
        self._flushed_point = False

    # ------------------------------------------------------------------ feeding
    def feed(self, line: str) -> dict | None:
        """Take one output line; returns its event (None for a log line)."""
        event = None if isinstance(line, LogLine) else parse_line(line)
        line = line.rstrip("\r\n")
        if event is None:
            if line.strip():
                self._log(line)
        else:
            self._event(event)
        # The first point goes out at once, so a new run's chart starts without waiting for a batch.
        first_point = event is not None and event["event"] == "metric" and not self._flushed_point
        if first_point or len(self._points) + len(self._logs) >= self.batch_size or self._stale():
            self.flush()
        return event

    def _stale(self) -> bool:
        return time.monotonic() - self._last_flush >= self.flush_seconds

    def flush_if_due(self) -> None:
        """Flush a pending batch that is older than flush_seconds (called while the trainer is silent)."""
        if (self._points or self._logs or self._events or self._progress) and self._stale():
            self.flush()

    def _log(self, text: str, *, tail: bool = True) -> None:
        # Log lines and error messages can echo credentials: scrub before storing or streaming.
        text = scrub_text(text[:MAX_LOG_CHARS])[0]
        self._seq += 1
        ts = time.time()
        if tail:  # the tail shown with a failure: what the trainer printed, not the loss lines
            self.tail.append(text)
        self._logs.append(RunLogLine(run_id=self.run.pk, seq=self._seq, text=text, ts=ts))
        self._events.append({"event": "log", "seq": self._seq, "text": text, "ts": ts})

    def _event(self, event: dict) -> None:
        kind = event["event"]
        if isinstance(event.get("total_steps"), int):
            self.total_steps = event["total_steps"]
            self._progress["total_steps"] = self.total_steps
        handler = getattr(self, f"_on_{kind}", None)
        if handler:
            handler(event)
        self._events.append(event)
        # The trainer's own words for it, in the run's log.
        text = describe_event(event, self.total_steps)
        if text:
            self._log(text, tail=False)

    def _on_metric(self, event: dict) -> None:
        step = self._store_point(event)
        if step is not None:
            self._advance(step)

    def _store_point(self, event: dict) -> int | None:
        """Queue the metric or eval line's point for the batch insert; its step, or None when it has none."""
        point = event_point(event)
        step = point["step"]
        if not isinstance(step, int) or step < 0:
            return None
        self._points.append(MetricPoint(
            run_id=self.run.pk, kind=point["kind"], step=step, epoch=_number(point["epoch"]),
            loss=_number(point["loss"]), learning_rate=_number(point.get("lr")),
            tokens_per_s=_number(point.get("tokens_per_s")), ts=_number(point["ts"]) or time.time()))
        return step

    def _on_start(self, event: dict) -> None:
        if isinstance(event.get("device"), str) and event["device"]:
            backend = event.get("backend")
            self._progress["device"] = f"{event['device']} ({backend})"[:200] if backend else event["device"][:200]

    def _on_progress(self, event: dict) -> None:
        if isinstance(event.get("step"), int):
            self._advance(event["step"])

    def _on_eval(self, event: dict) -> None:
        self._store_point(event)

    def _on_checkpoint(self, event: dict) -> None:
        entry = {"step": event.get("step"), "path": str(event.get("path", ""))[:500]}
        if entry not in self.checkpoints:
            self.checkpoints.append(entry)
            self._artifacts_dirty = True

    def _on_done(self, event: dict) -> None:
        self.done = event

    def _on_stopped(self, event: dict) -> None:
        self.stopped = event

    def _on_example_losses(self, event: dict) -> None:
        """The trainer wrote each example's final loss (training.trainer.example_losses), which the
        on_run_succeeded hook training.feedback maps to source records. Only that file in the run
        folder is taken; any other path or a count that is not a number is ignored."""
        count = event.get("count")
        if event.get("path") != EXAMPLE_LOSSES_FILE or not isinstance(count, int) or isinstance(count, bool) \
                or count < 0:
            return
        self.example_losses = {"path": f"{self.run.run_dir}/{EXAMPLE_LOSSES_FILE}", "count": count}

    def _on_error(self, event: dict) -> None:
        for name in ("message", "traceback", "detail"):
            if isinstance(event.get(name), str):
                event[name] = scrub_text(event[name])[0]
        self.error = event
        if event.get("message"):
            self.tail.append(f"error ({event.get('kind', 'crash')}): {event['message']}")

    def _advance(self, step: int) -> None:
        now = time.monotonic()
        if self._first_step is None:
            self._first_step = (step, now)
        self._progress["current_step"] = step
        if self.total_steps:
            self._progress["progress"] = min(1.0, step / self.total_steps)
            first_step, first_time = self._first_step
            if step > first_step:
                rate = (now - first_time) / (step - first_step)
                self._progress["eta_seconds"] = max(0.0, (self.total_steps - step) * rate)

    # ------------------------------------------------------------------ flushing
    def flush(self) -> None:
        """Write the batch (points, log lines, progress, checkpoints) and broadcast its events."""
        self._last_flush = time.monotonic()
        if self._points:
            MetricPoint.objects.bulk_create(self._points, ignore_conflicts=True)
            self._flushed_point = True
        if self._logs:
            RunLogLine.objects.bulk_create(self._logs, ignore_conflicts=True)
            self._prune_log()
        update = dict(self._progress)
        if self._artifacts_dirty:
            artifacts = dict(TrainingRun.objects.get(pk=self.run.pk).artifacts or {})
            artifacts["checkpoints"] = self.checkpoints
            check_artifacts(artifacts)
            update["artifacts"] = artifacts
        if update:  # the run's own events below are its live message
            lifecycle.record_progress(TrainingRun, self.run.pk, **update)
        events, self._events = self._events, []
        self._points, self._logs, self._progress, self._artifacts_dirty = [], [], {}, False
        if events:
            broadcast.publish_job_events(self.run.group_name, events)

    def _prune_log(self) -> None:
        """Keep the newest KEEP_LOG_LINES stored (deleting in chunks of a tenth, not on every flush)."""
        below = self._seq - KEEP_LOG_LINES
        if below - self._pruned_below >= max(1, KEEP_LOG_LINES // 10):
            RunLogLine.objects.filter(run_id=self.run.pk, seq__lte=below).delete()
            self._pruned_below = below

    def ingest(self, lines) -> None:
        """Feed every line of an iterable, then flush."""
        for line in lines:
            self.feed(line)
        self.flush()
