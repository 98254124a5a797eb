"""Request body limits enforced in the ASGI layer, while the body streams in.

Django's ASGI handler reads a request's whole body into a temporary file before any view,
middleware or authentication runs; a client could make the server read (and write to disk)
any amount before it is told 401 or 413. This wrapper decides from the headers first, then
counts bytes as they arrive:

- a declared Content-Length above the limit: 413 before reading anything;
- a write to the API (/api/, /v1/) with no credentials at all (no Authorization header, no
  session cookie): 401 before reading anything;
- a request with no credentials at all: at most ANONYMOUS_MAX_BODY_BYTES (the login form fits);
- any request: at most REQUEST_MAX_BODY_BYTES, counted while streaming (chunked bodies too).
"""

import json

from django.conf import settings

_API_PREFIXES = ("/api/", "/v1/")
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class RequestBodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        path = scope.get("path", "")
        is_api = path.startswith(_API_PREFIXES)
        credentials = "authorization" in headers or _has_session_cookie(headers.get("cookie", ""))
        limit = settings.REQUEST_MAX_BODY_BYTES if credentials else settings.ANONYMOUS_MAX_BODY_BYTES
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return await _refuse(send, is_api, 413, f"request body too large: at most {limit} bytes")
        if is_api and not credentials and scope.get("method") in _WRITES:
            return await _refuse(send, True, 401, "authentication required: send 'Authorization: Bearer <token>'",
                                 [(b"www-authenticate", b'Bearer realm="academy"')])
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                return await _refuse(send, is_api, 413, f"request body too large: at most {limit} bytes")
            chunks.append(body)
            if not message.get("more_body", False):
                break
        return await self.app(scope, _replay(b"".join(chunks), receive), send)


def _headers(scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


def _has_session_cookie(cookie_header: str) -> bool:
    name = settings.SESSION_COOKIE_NAME
    return any(part.strip().startswith(f"{name}=") for part in cookie_header.split(";"))


def _replay(body: bytes, receive):
    """The body already read, as one message; then the real channel (for disconnects)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed():
        return pending.pop() if pending else await receive()

    return replayed


async def _refuse(send, as_json: bool, status: int, message: str, extra_headers=()):
    if as_json:
        body = json.dumps({"error": message, "details": []}).encode()
        content_type = b"application/json"
    else:
        body = message.encode() + b"\n"
        content_type = b"text/plain; charset=utf-8"
    # Connection: close, so a client still sending the rest of its body is not read any further.
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
        *extra_headers]})
    await send({"type": "http.response.body", "body": body})
