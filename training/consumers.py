"""The run websocket (/ws/runs/<id>/): a snapshot, then live events, with exact resume.

Ordering without gaps or duplicates: the consumer joins the run's group before it reads
the snapshot from the database. Channels hands this consumer one message at a time, so
live events published meanwhile wait in the layer until the snapshot is queued; they are
then dropped when their step (or log seq) is not above what the snapshot held. Publishers
only publish committed rows (jobs.broadcast), so nothing falls between the two.

A slow client never holds up the channel layer: messages go through a bounded
per-connection outbox drained by its own task. When it overflows, the outbox is emptied,
a "resync" frame is sent and live events are dropped until the client resumes.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings

from jobs.consumers import _MALFORMED, CLOSE_NOT_FOUND, JobConsumer
from training.live_snapshot import After, load_snapshot, parse_after
from training.models import TrainingRun

CLIENT_MESSAGES = '{"type": "resume", "after_step": N, "after_eval_step": N, "after_log_seq": N}, ' \
                  '{"type": "snapshot"} or {"type": "ping"}'


class RunConsumer(JobConsumer):
    """A JobConsumer for runs (origin, login/token, permission, subscribing before reading) whose
    first message is the run's snapshot, sent through the outbox."""

    job_model = TrainingRun
    pump: asyncio.Task | None = None

    async def authorized_connect(self):
        self.high = {"train": -1, "eval": -1}
        self.log_seq = -1
        self.paused = False
        self.last_seq: dict[str, int] = {}
        self.outbox: asyncio.Queue = asyncio.Queue()
        query = {k: v[-1] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items()}
        try:
            self.after = parse_after(query)
        except ValueError as exc:
            self._enqueue({"type": "error", "error": str(exc), "details": ["sending the full history instead"]})
            self.after = After()
        await super().authorized_connect()  # subscribes, then reads the snapshot: see the module docstring

    async def _state(self, pk) -> dict | None:
        return await database_sync_to_async(load_snapshot)(int(pk), self.after)

    async def send_state(self, state: dict) -> None:
        self._take_snapshot(state)
        self.pump = asyncio.create_task(self._pump())

    async def leave_groups(self):
        await super().leave_groups()
        if self.pump is not None:
            self.pump.cancel()

    # ------------------------------------------------------------------ client -> server
    async def receive_json(self, content, **kwargs):
        if content is _MALFORMED or not isinstance(content, dict):
            self._error("malformed message: send a JSON object", CLIENT_MESSAGES)
            return
        kind = content.get("type")
        if kind == "resume":
            try:
                after = parse_after(content)
            except ValueError as exc:
                self._error(str(exc), CLIENT_MESSAGES)
                return
            await self._send_snapshot(after)
        elif kind == "snapshot":
            await self._send_snapshot(After())
        elif kind == "ping":
            self._enqueue({"type": "pong"})
        else:
            self._error(f"unknown message type {str(kind)[:40]!r}", CLIENT_MESSAGES)

    # ------------------------------------------------------------------ layer -> client
    async def job_event(self, message):
        lost = self._lost_messages(message)
        if self.paused:
            return
        if lost:
            self._resync("live messages were lost on the way")
            return
        payload = self._fresh(message["payload"])
        if payload is not None:
            self._enqueue(payload)

    def _lost_messages(self, message) -> bool:
        origin, seq = message.get("origin"), message.get("seq")
        last = self.last_seq.get(origin)
        self.last_seq[origin] = seq
        return last is not None and isinstance(seq, int) and seq > last + 1

    def _fresh(self, payload: dict) -> dict | None:
        """The payload without what this client already has (None: nothing left)."""
        kind = payload.get("type")
        if kind == "run.metrics":
            points = []
            for point in payload.get("points", []):
                series = point.get("kind", "train")
                if isinstance(point.get("step"), int) and point["step"] > self.high.get(series, -1):
                    self.high[series] = point["step"]
                    points.append(point)
            return {**payload, "points": points} if points else None
        if kind == "run.log":
            lines = [line for line in payload.get("lines", [])
                     if not isinstance(line.get("seq"), int) or line["seq"] > self.log_seq]
            if lines and isinstance(lines[-1].get("seq"), int):
                self.log_seq = max(self.log_seq, lines[-1]["seq"])
            return {**payload, "lines": lines} if lines else None
        return payload

    async def _send_snapshot(self, after: After) -> None:
        snapshot = await database_sync_to_async(load_snapshot)(int(self.pk), after)
        if snapshot is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self._take_snapshot(snapshot)

    def _take_snapshot(self, snapshot: dict) -> None:
        self.high = {"train": snapshot["last_step"], "eval": snapshot["last_eval_step"]}
        self.log_seq = snapshot["last_log_seq"]
        self.paused = False
        self._enqueue(snapshot)

    def _enqueue(self, payload: dict) -> None:
        if self.outbox.qsize() >= settings.LIVE_CLIENT_BUFFER:
            self._resync("the client reads too slowly")
            return
        self.outbox.put_nowait(payload)

    def _resync(self, reason: str) -> None:
        while not self.outbox.empty():
            self.outbox.get_nowait()
        self.paused = True
        self.outbox.put_nowait({"type": "resync", "reason": reason,
                                "resume_with": {"type": "resume", "after_step": "<last step seen>"}})

    def _error(self, error: str, *details: str) -> None:
        self._enqueue({"type": "error", "error": error, "details": list(details)})

    async def _pump(self) -> None:
        while True:
            payload = await self.outbox.get()
            await self.send_json(payload)
