"""The Overview websocket: keeps the Overview counters and runs list live for signed-in viewers.

Messages: {"type": "overview.counts", "counts": [...], "runs": [...]} on connect, on
refresh and whenever runs change state; {"type": "overview.run", "run": {"id", ...}} with
the latest step/loss or status of one run, a few times a second at most.
"""

from channels.db import database_sync_to_async

from academy_site.overview import collect_counts, collect_runs
from jobs.broadcast import OVERVIEW_GROUP
from jobs.consumers import AuthorizedConsumer


class OverviewConsumer(AuthorizedConsumer):
    """Origin, login/token and permission (view_dashboard) are checked by the base; close codes live there."""

    joined = False

    async def authorized_connect(self):
        await self.accept()
        await self.channel_layer.group_add(OVERVIEW_GROUP, self.channel_name)
        self.joined = True
        await self._send_counts()

    async def leave_groups(self):
        if self.joined:
            await self.channel_layer.group_discard(OVERVIEW_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") != "refresh":
            await self.send_json({"type": "error", "error": "unknown message; expected {\"type\": \"refresh\"}"})
            return
        await self._send_counts()

    async def overview_changed(self, event):
        await self._send_counts()

    async def model_activated(self, event):
        # Sent by the model registry on promotion/rollback; forwarded as is.
        await self.send_json(event)

    async def overview_run(self, event):
        await self.send_json({"type": "overview.run", "run": event["run"]})

    async def _send_counts(self):
        counts, runs = await database_sync_to_async(_collect)()
        await self.send_json({"type": "overview.counts", "counts": counts, "runs": runs})


def _collect() -> tuple[list[dict], list[dict]]:
    return collect_counts(), collect_runs()
