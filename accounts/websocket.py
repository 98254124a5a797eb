"""Websocket authentication by API token, as Channels middleware (wired once in academy_site.asgi).

Browsers authenticate websockets with their session (AuthMiddlewareStack). Agents have no
session: they send `Authorization: Bearer <token>` on the handshake or, where their client
cannot set headers, `?token=<token>`. A valid token puts its user in scope["user"] and the
token in scope["api_token"] (it acts with the token's role only); an invalid one leaves an
anonymous user and scope["api_token_refused"] = True. The consumer base (jobs.consumers)
turns these into close codes and re-checks the token while the socket stays open.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from accounts.services import authenticate_token


def raw_token(scope) -> str:
    """The token the client presented on the handshake ("" if none)."""
    for key, value in scope.get("headers", []):
        if key == b"authorization":
            scheme, _, raw = value.decode("latin-1").partition(" ")
            return raw.strip() if scheme.lower() == "bearer" else ""
    return (parse_qs(scope.get("query_string", b"").decode()).get("token") or [""])[0]


@database_sync_to_async
def _authenticate(raw: str):
    return authenticate_token(raw)


@database_sync_to_async
def token_still_usable(token_id: int) -> bool:
    """Whether the token is neither revoked nor expired and its user still active."""
    from accounts.models import ApiToken

    return ApiToken.objects.usable().filter(pk=token_id).exists()


class TokenAuthMiddleware(BaseMiddleware):
    """Authenticate a websocket by API token when one is presented; otherwise keep the session user."""

    async def __call__(self, scope, receive, send):
        raw = raw_token(scope)
        if raw:
            scope = dict(scope)
            token = await _authenticate(raw)
            if token is None:
                scope["user"] = AnonymousUser()
                scope["api_token_refused"] = True
            else:
                scope["user"] = token.user
                scope["api_token"] = token
        return await super().__call__(scope, receive, send)
