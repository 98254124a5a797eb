"""The consumer base: every websocket checks origin, login or token, and permission here, once.

Close codes (the one place they are defined):
- 4401 CLOSE_UNAUTHENTICATED: no session and no valid API token, or the token was revoked;
- 4403 CLOSE_FORBIDDEN: signed in without the permission, or the page's origin is not allowed;
- 4404 CLOSE_NOT_FOUND: the job (or line) does not exist.

The origin check compares the full origin (scheme, host and port) with the socket's own
origin and WEBSOCKET_ALLOWED_ORIGINS: a page on another port of the same host is another
origin and must not read data with the user's cookie. Clients that send no Origin (agents,
scripts) are not browsers carrying someone's cookie and are judged by their token.

A socket opened with an API token re-checks it every WEBSOCKET_TOKEN_RECHECK_SECONDS and
closes with 4401 once it is revoked or expired.

`JobConsumer` is the live socket of one job page: it subscribes to the job's group before
reading the job, sends `job.status` as the first message and forwards every job message.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.conf import settings

from accounts.roles import VIEW_DASHBOARD, allows
from accounts.websocket import token_still_usable
from jobs import broadcast

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
_MALFORMED = object()
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_HTTP_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def normalise_origin(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in; None when it is not an origin."""
    try:
        parts = urlsplit(origin.strip())
        scheme = _HTTP_SCHEME.get(parts.scheme.lower())
        host = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not scheme or not host or port is None:
        return None
    return scheme, host, port


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def origin_allowed(scope) -> bool:
    """No Origin (not a browser), or an Origin equal to the socket's own or a configured one."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    given = normalise_origin(origin)
    if given is None:
        return False
    allowed = {normalise_origin(o) for o in settings.WEBSOCKET_ALLOWED_ORIGINS}
    host = _header(scope, b"host")
    if host:
        allowed.add(normalise_origin(f"{scope.get('scheme', 'ws')}://{host}"))
    return given in allowed


class AuthorizedConsumer(AsyncJsonWebsocketConsumer):
    """A JSON websocket that only accepts allowed origins, known users or tokens, with `permission`.

    Subclasses implement `authorized_connect()` (join groups, accept, send the first state)
    and the handlers of their messages; they never repeat the checks.
    """

    permission = VIEW_DASHBOARD
    _token_watch: asyncio.Task | None = None

    async def connect(self):
        refusal = await self.refusal()
        if refusal:
            await self.refuse(refusal)
        if isinstance(self.channel_layer, InMemoryChannelLayer):
            # Consumers live on the server loop; the broadcaster's thread must hand sends to it.
            broadcast.set_server_loop(asyncio.get_running_loop())
        await self.authorized_connect()
        token = self.scope.get("api_token")
        if token is not None:
            self._token_watch = asyncio.create_task(self._watch_token(token.pk))

    async def refuse(self, code: int):
        """Close with `code` and end this consumer now (it holds a channel until its client goes)."""
        await self.close(code=code)
        await self.leave_groups()
        raise StopConsumer()

    async def refusal(self) -> int | None:
        """The close code that refuses this connection, or None."""
        if not origin_allowed(self.scope):
            return CLOSE_FORBIDDEN
        user = self.scope.get("user")
        if self.scope.get("api_token_refused") or user is None or not user.is_authenticated:
            return CLOSE_UNAUTHENTICATED
        if not await database_sync_to_async(allows)(user, self.permission, self.scope.get("api_token")):
            return CLOSE_FORBIDDEN
        return None

    async def authorized_connect(self):
        """Join groups, accept and send the first state (override); refuse with self.refuse(code)."""
        await self.accept()

    async def disconnect(self, code):
        if self._token_watch is not None:
            self._token_watch.cancel()
        await self.leave_groups()

    async def leave_groups(self):
        """Undo what authorized_connect joined (override)."""

    async def _watch_token(self, token_id: int) -> None:
        while True:
            await asyncio.sleep(settings.WEBSOCKET_TOKEN_RECHECK_SECONDS)
            if not await token_still_usable(token_id):
                await self.send_json({"type": "error", "error": "the API token was revoked or expired"})
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return

    async def decode_json(self, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return _MALFORMED

    async def send_error(self, error: str, *details: str) -> None:
        await self.send_json({"type": "error", "error": error, "details": list(details)})


class JobConsumer(AuthorizedConsumer):
    """/ws/jobs/<kind>/<pk>/ (kind = the model's group_prefix): the live state of one job.

    Routed once for every job model; a subclass may instead fix `job_model` and take its own
    route (with a `pk` argument). The permission is the model's `view_permission`. A subclass
    with a richer first message overrides `_state(pk)` (read after subscribing) and
    `send_state(state)`.

    Messages to the client: the job's `job.status` on connect (and on {"type": "snapshot"}),
    then each payload published to the job's group (job.status, job.progress and the job's
    own kinds), in order. Client messages: {"type": "snapshot"} or {"type": "ping"}.
    """

    job_model = None
    group: str | None = None

    async def refusal(self) -> int | None:
        model = self.job_model or _model_for(self.scope["url_route"]["kwargs"].get("kind", ""))
        self.permission = getattr(model, "view_permission", VIEW_DASHBOARD)
        refusal = await super().refusal()
        if refusal:
            return refusal
        if model is None:
            return CLOSE_NOT_FOUND
        self.job_model = model
        return None

    async def authorized_connect(self):
        pk = self.scope["url_route"]["kwargs"]["pk"]
        self.group = self.job_model.group_for(pk)
        # Subscribe before reading the job, so no change falls between the state and the live messages.
        await self.channel_layer.group_add(self.group, self.channel_name)
        state = await self._state(pk)
        if state is None:
            await self.refuse(CLOSE_NOT_FOUND)
        self.pk = pk
        await self.accept()
        await self.send_state(state)

    async def send_state(self, state: dict) -> None:
        """Send the state read on connect (override to queue it another way)."""
        await self.send_json(state)

    async def leave_groups(self):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    @database_sync_to_async
    def _state(self, pk) -> dict | None:
        job = self.job_model.objects.filter(pk=pk).first()
        return job.status_payload() if job is not None else None

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "snapshot":
            state = await self._state(self.pk)
            if state is not None:
                await self.send_json(state)
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_error("unknown message", '{"type": "snapshot"} or {"type": "ping"}')

    async def job_event(self, message):
        await self.send_json(message["payload"])


def _model_for(kind: str):
    from jobs.models import job_models

    return next((model for model in job_models() if model.group_prefix == kind), None)
