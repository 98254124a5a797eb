"""Websocket /ws/lines/<name>/: pushes `model.activated` and `canary.update` for one model line.

Browsers authenticate with their session; agents with an API token (`Authorization: Bearer
<token>` on the handshake, or `?token=<token>`), read by accounts.websocket.TokenAuthMiddleware.
The origin, login/token and permission checks and the close codes are jobs.consumers'.
"""

from channels.db import database_sync_to_async

from jobs.consumers import _MALFORMED, CLOSE_NOT_FOUND, AuthorizedConsumer
from models_registry.canary import canary_dict, latest_canary
from models_registry.models import ModelLine


@database_sync_to_async
def _line_state(name: str) -> dict | None:
    line = ModelLine.objects.filter(name=name).first()
    if line is None:
        return None
    version = line.active_version()
    canary = latest_canary(line)  # the latest canary, once one ever ran (the page's panel follows it)
    return {"type": "line.state", "line": name, "active": version.active_dict() if version else None,
            **({"canary": canary_dict(canary)} if canary else {}), "group": line.group_name}


class LineConsumer(AuthorizedConsumer):
    group = None

    async def authorized_connect(self):
        name = self.scope["url_route"]["kwargs"]["name"]
        # Subscribe before reading the state, so no activation falls between the state and the live messages.
        self.group = ModelLine(name=name).group_name
        await self.channel_layer.group_add(self.group, self.channel_name)
        state = await _line_state(name)
        if state is None:
            await self.refuse(CLOSE_NOT_FOUND)
        state.pop("group")
        await self.accept()
        await self.send_json(state)

    async def leave_groups(self):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content is _MALFORMED:
            await self.send_error("malformed message: send a JSON object")
            return
        await self.send_error("this socket only sends; nothing to receive")

    async def model_activated(self, event):
        await self.send_json(event)

    async def canary_update(self, event):
        await self.send_json(event)
