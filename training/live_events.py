"""A run's live messages: the one shape of a chart point, and how the trainer's events become messages.

`point_dict` is the chart point, whoever builds it: the ingestor storing the trainer's lines
(through `event_point`), the broadcaster sending them live (through RUN_EVENTS) and the
snapshot read back from the database (training.live_snapshot). The run's own message types
(`run.metrics`, `run.log`, `run.<trainer event>`) and its line on the Overview live here too;
training registers RUN_EVENTS with the broadcaster (jobs.broadcast.EVENT_KINDS), which knows
no kind of job itself. Protocol: docs/live-monitoring.md.
"""

from __future__ import annotations

from jobs.broadcast import EventKind

TRAIN, EVAL = "train", "eval"  # MetricPoint.Kind's values
METRICS = "run.metrics"
LOG = "run.log"
OVERVIEW_RUN = "overview.run"  # handled by academy_site.consumers.OverviewConsumer.overview_run


def point_dict(kind: str, step, epoch, loss, lr=None, ts=None, tokens_per_s=None) -> dict:
    """A chart point: {"kind", "step", "epoch", "loss", "lr" (train only), "ts", "tokens_per_s" (when known)}."""
    point = {"kind": kind, "step": step, "epoch": epoch, "loss": loss}
    if kind == TRAIN:
        point["lr"] = lr
    point["ts"] = ts
    if tokens_per_s is not None:
        point["tokens_per_s"] = tokens_per_s
    return point


def event_point(event: dict) -> dict | None:
    """The trainer's metric or eval line as a chart point (values as the trainer sent them), else None."""
    kind = event.get("event")
    if kind == "metric":
        return point_dict(TRAIN, event.get("step"), event.get("epoch"), event.get("loss"),
                          lr=event.get("lr", event.get("learning_rate")), ts=event.get("ts"),
                          tokens_per_s=event.get("tokens_per_s"))
    if kind == "eval":
        return point_dict(EVAL, event.get("step"), event.get("epoch"), event.get("eval_loss", event.get("loss")),
                          ts=event.get("ts"))
    return None


def _translate(event: dict) -> tuple[str | None, dict]:
    point = event_point(event)
    if point is not None:
        return METRICS, point
    if event.get("event") == "log":
        return LOG, {"seq": event.get("seq"), "text": event.get("text", ""), "ts": event.get("ts")}
    # Any other trainer event (start, checkpoint, done, error, ...) goes out at once, after the points before it.
    fields = {key: value for key, value in event.items() if key not in ("event", "type")}
    return None, {"type": f"run.{event.get('event') or 'event'}", **fields}


def _overview_line(run_id: int, payload: dict) -> dict | None:
    """The `overview.run` message (the run's line on the Overview's runs list) for one message of a run,
    or None."""
    kind = payload.get("type")
    if kind == METRICS:
        train = [point for point in payload["points"] if point.get("kind") == TRAIN]
        if train:
            return _overview_run({"id": run_id, "step": train[-1].get("step"), "loss": train[-1].get("loss")})
    elif kind in ("job.status", "job.progress"):
        fields = ("status", "progress", "eta_seconds")
        return _overview_run({"id": run_id, **{key: payload[key] for key in fields if key in payload}})
    return None


def _overview_run(line: dict) -> dict:
    return {"type": OVERVIEW_RUN, "run": line}


RUN_EVENTS = EventKind(batches=((METRICS, "points"), (LOG, "lines")), translate=_translate, overview=_overview_line)
