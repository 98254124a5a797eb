"""OpenAI's error object for every /v1 answer that is not a success.

The official clients read `error.message`, `error.type`, `error.param` and `error.code`
from the body; a bare `{"error": "..."}` leaves them with only "Error code: 400".
"""

import json
from functools import wraps

from django.http import JsonResponse

from accounts.api import api_view

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 405: "invalid_request_error", 413: "invalid_request_error",
          429: "rate_limit_error", 503: "server_error"}


def openai_error(message: str, status: int, *, param: str | None = None, code: str | None = None,
                 type: str | None = None, **headers) -> JsonResponse:
    body = {"error": {"message": message, "type": type or _TYPES.get(status, "server_error"),
                      "param": param, "code": code}}
    response = JsonResponse(body, status=status)
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


def openai_api(permission: str, methods: tuple[str, ...] = ("GET",)):
    """api_view (token auth, roles), with its house-shaped errors re-told in OpenAI's shape."""

    def decorator(view):
        checked = api_view(permission, methods)(view)

        @wraps(checked)
        def wrapped(request, *args, **kwargs):
            return _reshaped(checked(request, *args, **kwargs))

        return wrapped

    return decorator


def _reshaped(response):
    if response.status_code < 400 or response.get("Content-Type") != "application/json":
        return response
    try:
        body = json.loads(response.content)
    except ValueError:
        return response
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return response  # already OpenAI-shaped
    message = body["error"]
    if body.get("details"):
        message = f"{message}: {'; '.join(_said(d) for d in body['details'])}"
    reshaped = openai_error(message, response.status_code,
                            code={401: "invalid_api_key", 413: "request_too_large"}.get(response.status_code))
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if response.has_header(header):
            reshaped[header] = response[header]
    return reshaped


def _said(detail) -> str:
    """One detail of a house-shaped error ({"field", "message"}, or a record's plain line) as words."""
    return detail.get("message", "") if isinstance(detail, dict) else str(detail)
