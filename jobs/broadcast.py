"""The one broadcaster: every realtime message (jobs, the Overview, model lines) goes out here.

Callers publish after the data is committed to the database (consumers deduplicate a
snapshot read from the database against live events, so an event must never be live
before it is readable); jobs.lifecycle does so from transaction.on_commit. Calls never
block on clients: they append to a per-group buffer and return; one sender thread per
process sends them. Per group it sends at
most once per LIVE_BATCH_WINDOW_MS (a throttle, not a debounce: after a quiet spell the
first batch goes out at once), coalescing the metric points and log lines that arrive
meanwhile. Status, checkpoint and done events flush what is pending at once, in order.

Embedded mode: the in-memory channel layer belongs to the ASGI server's event loop, so the
sender hands each send to that loop (`set_server_loop`) with run_coroutine_threadsafe;
awaiting it from a foreign loop delays delivery by tens of milliseconds. With the Redis
layer the sender thread runs the sends on its own loop.

A job's worker may also publish raw events (the trainer's lines): the app that owns that kind of
job registers an `EventKind` in EVENT_KINDS under its group prefix, which says which events are
batched into which message and which go out at once, and what the Overview hears of it.
This module knows no kind of job itself.

Every job message carries the sending process's `origin` and a per-group `seq`, so a
consumer notices when the layer dropped a message (a full channel) and asks its client to
resync instead of showing a curve with a hole.

While the channel layer is down (Redis restarting) sends fail; the failure is logged at
most once per LOG_EVERY_SECONDS with a count, not once per message.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from jobs.ratelimit import RateLimitedLog

logger = logging.getLogger(__name__)

OVERVIEW_GROUP = "overview"
JOB_MESSAGE_TYPE = "job.event"  # handled by JobConsumer.job_event
ORIGIN = uuid.uuid4().hex[:12]
LOG_EVERY_SECONDS = 30.0
_send_failed = RateLimitedLog(logger, every_seconds=LOG_EVERY_SECONDS)

_server_loop: asyncio.AbstractEventLoop | None = None


def _no_overview(pk: int, payload: dict) -> dict | None:
    return None


@dataclass(frozen=True)
class EventKind:
    """How the raw events of one kind of job become messages (registered in EVENT_KINDS by its app)."""

    # (message type, key of its list) of each batched message, in the order a batch sends them
    batches: tuple[tuple[str, str], ...]
    # raw event -> (type of the batched message it joins, item) or (None, a payload sent at once, in order)
    translate: Callable[[dict], tuple[str | None, dict]]
    # (job id, a payload sent to the job's group) -> the message the Overview group gets for it, or None
    overview: Callable[[int, dict], dict | None] = _no_overview


# group prefix -> EventKind (training registers the run's at startup)
EVENT_KINDS: dict[str, EventKind] = {}


def set_server_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Remember the ASGI server's loop; in-memory layer sends are handed to it."""
    global _server_loop
    _server_loop = loop


def publish_job_events(group_name: str, events: list[dict]) -> None:
    """Forward events to a job's group (job.group_name).

    Accepted shapes: ready payloads with a "type" ({"type": "job.status", ...} from
    jobs.lifecycle; "job.progress" payloads are coalesced, the newest wins), and raw events
    without one, which the EventKind registered for the group's prefix translates (the
    trainer's lines for a run: training.live_events). Returns at once; delivery happens on the
    sender thread.
    """
    if events:
        _broadcaster.add(group_name, events)


def publish_group_message(group_name: str, message: dict) -> None:
    """Send one ready channel-layer message (its "type" names the consumer handler) to a group, in order."""
    _broadcaster.add_raw(group_name, message)


def publish_overview() -> None:
    """Tell overview subscribers that run counters or states changed (coalesced)."""
    _broadcaster.add_overview()


def flush(timeout: float = 5.0) -> bool:
    """Wait until everything published so far was handed to the channel layer."""
    return _broadcaster.wait_idle(timeout)


def job_message(group_name: str, payload: dict, *, seq: int, origin: str = ORIGIN) -> dict:
    """The channel-layer envelope of one job message (also used by tests and benchmarks)."""
    return {"type": JOB_MESSAGE_TYPE, "group": group_name, "origin": origin, "seq": seq, "payload": payload}


# ---------------------------------------------------------------------------- sender
@dataclass
class _Pending:
    group: str
    due: float
    kind: EventKind | None = None
    batched: dict = field(default_factory=dict)  # message type -> items waiting for the batch
    progress: dict | None = None
    ready: list = field(default_factory=list)  # finished payloads, in order
    raw: list = field(default_factory=list)  # ready messages without an envelope (publish_group_message)

    def close_batch(self) -> None:
        if self.progress:
            self.ready.append(self.progress)
            self.progress = None
        for message_type, key in self.kind.batches if self.kind else ():
            items = self.batched.pop(message_type, None)
            if items:
                self.ready.append({"type": message_type, key: items})


class _Broadcaster:
    def __init__(self):
        self._cond = threading.Condition()
        self._pending: dict[str, _Pending] = {}
        self._overview_due: float | None = None
        self._busy = False
        self._seq: dict[str, itertools.count] = {}
        self._last_sent: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _pending_for(self, group: str) -> _Pending:
        pending = self._pending.get(group)
        if pending is None:
            window = settings.LIVE_BATCH_WINDOW_MS / 1000
            due = max(time.monotonic(), self._last_sent.get(group, 0.0) + window)
            pending = self._pending[group] = _Pending(group, due, EVENT_KINDS.get(group.partition(".")[0]))
        return pending

    def add(self, group: str, events: list[dict]) -> None:
        if group.partition(".")[0] not in EVENT_KINDS and not all(event.get("type") for event in events):
            raise ValueError(f"no EventKind is registered for group {group!r}: publish payloads with a 'type'")
        with self._cond:
            pending = self._pending_for(group)
            for event in events:
                self._add_one(pending, event)
            self._ensure_thread()
            self._cond.notify()

    def add_raw(self, group: str, message: dict) -> None:
        with self._cond:
            pending = self._pending_for(group)
            pending.close_batch()
            pending.ready.append({"__raw__": dict(message)})
            pending.due = 0
            self._ensure_thread()
            self._cond.notify()

    @staticmethod
    def _add_one(pending: _Pending, event: dict) -> None:
        if event.get("type") == "job.progress":  # coalesced: only the newest matters
            pending.progress = dict(event)
            return
        if event.get("type"):  # already a payload
            pending.close_batch()
            pending.ready.append(dict(event))
            pending.due = 0
            return
        batch, item = pending.kind.translate(event)
        if batch is not None:
            pending.batched.setdefault(batch, []).append(item)
        else:
            # Order matters to the client: the batched items before this one go first.
            pending.close_batch()
            pending.ready.append(item)
            pending.due = 0

    def add_overview(self) -> None:
        with self._cond:
            if self._overview_due is None:
                self._overview_due = time.monotonic() + settings.LIVE_BATCH_WINDOW_MS / 1000
            self._ensure_thread()
            self._cond.notify()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._overview_due is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="academy-broadcast", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            due, overview = self._take_due()
            try:
                for pending in due:
                    self._deliver(pending)
                if overview:
                    self._send(OVERVIEW_GROUP, {"type": "overview.changed"})
            except Exception:  # a broken layer must not kill the sender for good
                _send_failed.exception("live broadcast failed; live pages resync when it is back")
            else:
                _send_failed.reset()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _take_due(self) -> tuple[list[_Pending], bool]:
        with self._cond:
            while True:
                now = time.monotonic()
                due = [p for p in self._pending.values() if p.due <= now]
                overview = self._overview_due is not None and self._overview_due <= now
                if due or overview:
                    for pending in due:
                        del self._pending[pending.group]
                    if overview:
                        self._overview_due = None
                    self._busy = True
                    return due, overview
                deadlines = [p.due for p in self._pending.values()]
                if self._overview_due is not None:
                    deadlines.append(self._overview_due)
                self._cond.wait(max(0.0, min(deadlines) - now) if deadlines else None)

    def _deliver(self, pending: _Pending) -> None:
        pending.close_batch()
        if len(self._last_sent) > 1000:  # forget runs that went quiet
            horizon = time.monotonic() - 60
            self._last_sent = {k: v for k, v in self._last_sent.items() if v > horizon}
        self._last_sent[pending.group] = time.monotonic()
        counter = self._seq.setdefault(pending.group, itertools.count(1))
        for payload in pending.ready:
            if "__raw__" in payload:
                self._send(pending.group, payload["__raw__"])
                continue
            self._send(pending.group, job_message(pending.group, payload, seq=next(counter)))
            pk = pending.group.partition(".")[2]
            overview = pending.kind.overview(int(pk), payload) if pending.kind and pk.isdigit() else None
            if overview:
                self._send(OVERVIEW_GROUP, overview)

    def _send(self, group: str, message: dict) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        timeout = settings.LIVE_SEND_TIMEOUT_SECONDS
        loop = _server_loop
        if isinstance(layer, InMemoryChannelLayer) and loop is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
            try:
                future.result(timeout)
            except TimeoutError:
                future.cancel()
                logger.warning("live message to %s not handed over within %.1f s; dropped", group, timeout)
            return
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(asyncio.wait_for(layer.group_send(group, message), timeout))
        except TimeoutError:
            logger.warning("live message to %s not sent within %.1f s; dropped", group, timeout)


_broadcaster = _Broadcaster()
