"""The cycle's socket (/ws/jobs/cycle/<pk>/): the cycle's own messages, plus its current step's job.

A cycle spends minutes inside one step's job (a dataset build, a training run, an Arena
evaluation), each of which streams on its own group. This consumer is the generic job socket
for the cycle, and it also joins the group of the job the cycle's journal names last, and
relays that job's state as `cycle.step` messages (step, kind, id, page, status, state label,
progress, ETA). When a journal entry names a new job, it leaves the old group and joins the new
one; as everywhere, it subscribes before reading the job, so no change falls in between.

A training run streams metric points, not progress messages: its progress and ETA are stored
on the row with each batch, so a run message makes the consumer read the row again, at most
once per STEP_REFRESH_SECONDS (and once more at the end of that window).
"""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async

from accounts.roles import allows
from jobs.consumers import JobConsumer
from professor.models import Cycle, JournalEntry, job_model, job_state

STEP_REFRESH_SECONDS = 1.0
RELAYED_KEYS = ("progress", "eta_seconds", "progress_label")


class CycleConsumer(JobConsumer):
    job_model = Cycle
    step_group: str | None = None
    step: dict | None = None
    _last: dict = {}  # the last cycle.step message sent, which a job.progress message updates
    _refresh_at = 0.0
    _refresh_later: asyncio.Task | None = None

    async def authorized_connect(self):
        await super().authorized_connect()
        await self._follow_step()

    async def leave_groups(self):
        if self._refresh_later is not None:
            self._refresh_later.cancel()
        if self.step_group:
            await self.channel_layer.group_discard(self.step_group, self.channel_name)
        await super().leave_groups()

    async def receive_json(self, content, **kwargs):
        await super().receive_json(content, **kwargs)
        if isinstance(content, dict) and content.get("type") == "snapshot" and self.step:
            await self._send_step(await self._step_state(self.step))

    async def job_event(self, message):
        if message.get("group") == self.step_group and self.step_group != self.group:
            await self._relay(message["payload"])
            return
        await super().job_event(message)
        payload = message.get("payload") or {}
        if payload.get("type") == "cycle.journal" and payload.get("job"):
            await self._follow_step()

    # -- following the step's job
    async def _follow_step(self) -> None:
        """Join the group of the job the journal names last (leaving the previous one) and send its state."""
        step = await database_sync_to_async(_latest_step)(self.pk)
        if step is None or step == self.step:
            return
        model = job_model(step["kind"])
        if not await self._may_watch(model):
            return
        group = model.group_for(step["id"])
        if self.step_group and self.step_group != group:
            await self.channel_layer.group_discard(self.step_group, self.channel_name)
        await self.channel_layer.group_add(group, self.channel_name)
        self.step_group, self.step = group, step
        state = await self._step_state(step)
        if state is not None:
            await self._send_step(state)

    async def _may_watch(self, model) -> bool:
        """The step's job is shown only to whom its own socket would show it."""
        permission = getattr(model, "view_permission", self.permission)
        if permission == self.permission:
            return True
        token, user = self.scope.get("api_token"), self.scope.get("user")
        return await database_sync_to_async(allows)(user, permission, token)

    async def _relay(self, payload: dict) -> None:
        kind = payload.get("type")
        if kind == "job.status":
            await self._send_step(await self._step_state(self.step))
        elif kind == "job.progress":
            await self._send_step({**self._last, **{k: payload[k] for k in RELAYED_KEYS if k in payload}})
        elif time.monotonic() >= self._refresh_at:
            await self._refresh()
        elif self._refresh_later is None or self._refresh_later.done():
            self._refresh_later = asyncio.create_task(self._refresh_at_window_end())

    async def _refresh(self) -> None:
        self._refresh_at = time.monotonic() + STEP_REFRESH_SECONDS
        state = await self._step_state(self.step)
        if state is not None:
            await self._send_step(state)

    async def _refresh_at_window_end(self) -> None:
        await asyncio.sleep(max(0.0, self._refresh_at - time.monotonic()))
        await self._refresh()

    async def _step_state(self, step: dict | None) -> dict | None:
        return await database_sync_to_async(_state)(step) if step else None

    async def _send_step(self, state: dict | None) -> None:
        if state is None:
            return
        self._last = state
        await self.send_json(state)


def _latest_step(cycle_id) -> dict | None:
    entry = JournalEntry.objects.filter(cycle_id=cycle_id).exclude(job_id=None).order_by("-at", "-id").first()
    if entry is None or job_model(entry.job_kind) is None:
        return None
    return {"step": entry.step, "kind": entry.job_kind, "id": entry.job_id}


def _state(step: dict) -> dict | None:
    job = job_model(step["kind"]).objects.filter(pk=step["id"]).first()
    return job_state(step["step"], job) if job is not None else None
