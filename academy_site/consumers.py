"""The Overview websocket: pushes the Overview counters to signed-in viewers."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from academy_site.overview import OVERVIEW_GROUP, collect_counts

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

    async def _send_counts(self):
        counts = await database_sync_to_async(collect_counts)()
        await self.send_json({"type": "overview.counts", "counts": counts})
