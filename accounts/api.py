"""How every JSON endpoint authenticates, authorizes and reports errors.

Machine clients send `Authorization: Bearer <token>`. A signed-in browser session is
accepted for safe (read-only) methods; writes need a token, which keeps the API free of
CSRF exposure.
"""

import json
import math
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.roles import allows, refusal
from accounts.services import authenticate_token

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def json_error(message: str, status: int, details: list | None = None, **headers) -> JsonResponse:
    response = JsonResponse({"error": message, "details": details or []}, status=status)
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


class Principal:
    """Who is calling: a user, possibly acting through a token's role."""

    def __init__(self, user, token=None):
        self.user = user
        self.token = token

    def has_perm(self, perm: str) -> bool:
        return allows(self.user, perm, self.token)


def _principal(request) -> Principal | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = authenticate_token(raw.strip())
        return Principal(token.user, token) if token else None
    if request.method in SAFE_METHODS and request.user.is_authenticated:
        return Principal(request.user)
    return None


def api_view(permission: str, methods: tuple[str, ...] = ("GET",)):
    """Decorate a JSON view: method check, authentication (401), permission (403)."""

    def decorator(view):
        @login_not_required
        @csrf_exempt
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in methods:
                return json_error(f"method {request.method} not allowed", 405, Allow=", ".join(methods))
            principal = _principal(request)
            if principal is None:
                return json_error("authentication required: send 'Authorization: Bearer <token>'", 401,
                                  WWW_Authenticate='Bearer realm="academy"')
            if not principal.has_perm(permission):
                return json_error(f"permission denied: {refusal(permission)}", 403)
            request.principal = principal
            request.user = principal.user
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def read_json(request, max_bytes: int):
    """Parse the body as JSON. Returns (data, None) or (None, error response)."""
    length = request.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        return None, json_error(f"request body too large: at most {max_bytes} bytes", 413)
    try:
        body = request.body
    except RequestDataTooBig:  # chunked bodies without a length: Django stopped reading at the limit
        return None, json_error(f"request body too large: at most {max_bytes} bytes", 413)
    if len(body) > max_bytes:
        return None, json_error(f"request body too large: at most {max_bytes} bytes", 413)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, json_error("request body is not valid UTF-8", 400, _unnamed(f"byte {exc.start}: {exc.reason}"))
    try:
        data = strict_loads(text)
    except json.JSONDecodeError as exc:
        return None, json_error("malformed JSON", 400, _unnamed(f"line {exc.lineno} column {exc.colno}: {exc.msg}"))
    except JSONRefused as exc:
        return None, json_error("malformed JSON", 400, _unnamed(str(exc)))
    return data, None


def _unnamed(message: str) -> list[dict]:
    """The details of a problem with the body as a whole: the API's one shape, naming no field."""
    return [{"field": None, "message": message}]


# Deeper bodies are refused: nothing the API takes nests this far, and recursive code
# further on (validation, storage, rendering) must never meet unbounded depth.
MAX_JSON_DEPTH = 32
# No field Academy takes needs more than a 64-bit integer; longer digit strings are refused
# before int() sees them (Python's own limit, 4300 digits, raises a bare ValueError and can be
# lifted process-wide with sys.set_int_max_str_digits).
MAX_JSON_INT_DIGITS = 30


class JSONRefused(ValueError):
    """Well-formed JSON text that Academy does not take; str() says why in plain words."""


def strict_loads(text: str):
    """json.loads for untrusted text: the one set of rules every JSON body is read by.

    Refuses NaN and Infinity (not JSON), numbers that overflow a float (1e999 would become
    inf), integers longer than MAX_JSON_INT_DIGITS digits and nesting deeper than
    MAX_JSON_DEPTH, with JSONRefused; malformed text raises json.JSONDecodeError as usual.
    """
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int, parse_float=_parse_float)
    except RecursionError:
        raise JSONRefused(_TOO_DEEP) from None
    if depth_exceeds(data, MAX_JSON_DEPTH):
        raise JSONRefused(_TOO_DEEP)
    return data


_TOO_DEEP = f"nested too deeply: at most {MAX_JSON_DEPTH} levels of arrays and objects"


def _refuse_constant(name: str):
    raise JSONRefused(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise JSONRefused(f"an integer of {len(digits.lstrip('-'))} digits is too large: at most "
                          f"{MAX_JSON_INT_DIGITS} digits")
    return int(digits)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRefused(f"the number {text[:40]}{'...' if len(text) > 40 else ''} is out of range")
    return value


def depth_exceeds(data, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit`, checked level by level without recursion."""
    level = [data] if isinstance(data, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [child for value in level for child in (value.values() if isinstance(value, dict) else value)
                 if isinstance(child, dict | list)]
    return False
