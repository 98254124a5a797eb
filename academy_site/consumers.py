"""The Overview websocket: keeps the Overview counters and runs list live for signed-in viewers.

Messages: {"type": "overview.counts", "counts": [...], "runs": [...]} on connect, on
refresh and whenever runs change state; {"type": "overview.run", "run": {"id", ...}} with
the latest step/loss or status of one run, a few times a second at most.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from academy_site.overview import OVERVIEW_GROUP, collect_counts, collect_runs

# Close codes: 4401 not signed in, 4403 signed in without permission.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class OverviewConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(user.has_perm)("accounts.view_dashboard"):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.accept()
        await self.channel_layer.group_add(OVERVIEW_GROUP, self.channel_name)
        await self._send_counts()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(OVERVIEW_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") != "refresh":
            await self.send_json({"type": "error", "error": "unknown message; expected {\"type\": \"refresh\"}"})
            return
        await self._send_counts()

    async def decode_json(self, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None

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
