"""Websocket /ws/lines/<name>/: pushes `model.activated` for one model line.

Browsers authenticate with their session. Agents have no session: they pass an API token
as `Authorization: Bearer <token>` on the handshake or, where their client cannot set
headers, as `?token=<token>`. Either way the caller needs accounts.view_dashboard.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.services import authenticate_token
from models_registry.api import active_payload
from models_registry.models import ModelLine

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
PERMISSION = "accounts.view_dashboard"


def _raw_token(scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"authorization":
            scheme, _, raw = value.decode("latin-1").partition(" ")
            return raw.strip() if scheme.lower() == "bearer" else ""
    return (parse_qs(scope.get("query_string", b"").decode()).get("token") or [""])[0]


@database_sync_to_async
def _authorize(scope) -> int | None:
    """None when allowed, else the close code."""
    raw = _raw_token(scope)
    if raw:
        token = authenticate_token(raw)
        if token is None:
            return CLOSE_UNAUTHENTICATED
        return None if token.has_perm(PERMISSION) else CLOSE_FORBIDDEN
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return CLOSE_UNAUTHENTICATED
    return None if user.has_perm(PERMISSION) else CLOSE_FORBIDDEN


@database_sync_to_async
def _line_state(name: str) -> dict | None:
    line = ModelLine.objects.filter(name=name).first()
    if line is None:
        return None
    version = line.active_version()
    return {"type": "line.state", "line": name, "active": active_payload(line, version) if version else None,
            "group": line.group_name}


class LineConsumer(AsyncJsonWebsocketConsumer):
    group = None

    async def connect(self):
        refused = await _authorize(self.scope)
        if refused:
            await self.close(code=refused)
            return
        state = await _line_state(self.scope["url_route"]["kwargs"]["name"])
        if state is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = state.pop("group")
        await self.accept()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(state)

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        await self.send_json({"type": "error", "error": "this socket only sends; nothing to receive"})

    async def decode_json(self, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None

    async def model_activated(self, event):
        await self.send_json(event)
