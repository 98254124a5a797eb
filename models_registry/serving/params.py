"""The body of POST /v1/chat/completions, checked field by field.

Every parameter Academy honours is validated here; every other one is refused by name
(as OpenAI refuses an unrecognized argument) rather than silently ignored. Parameters that
only describe the caller (user, metadata, store, service_tier) are accepted and ignored.
"""

from dataclasses import dataclass, field

from django.conf import settings

ROLES = ("system", "user", "assistant")
IGNORED = frozenset({"user", "metadata", "store", "service_tier"})
# Accepted only at their neutral value, which is what Academy does anyway.
NEUTRAL = {"frequency_penalty": 0, "presence_penalty": 0, "logprobs": False, "parallel_tool_calls": None,
           "response_format": {"type": "text"}, "tool_choice": "none", "tools": []}
HONOURED = frozenset({"model", "messages", "max_tokens", "max_completion_tokens", "stream", "stream_options",
                      "n", "temperature", "top_p", "stop", "seed"})


class InvalidRequest(ValueError):
    """One bad parameter: `param` names it, as OpenAI's error object does."""

    def __init__(self, message: str, param: str | None, code: str | None = None):
        super().__init__(message)
        self.param = param
        self.code = code


@dataclass
class ChatRequest:
    model: str
    messages: list[dict]
    max_tokens: int
    n: int = 1
    temperature: float | None = None  # None or 0: greedy, deterministic decoding
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    stream: bool = False
    include_usage: bool = False

    @property
    def sampling(self) -> bool:
        return bool(self.temperature)


def parse_chat_request(data) -> ChatRequest:
    """Validate a decoded JSON body; raise InvalidRequest naming the first bad parameter."""
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object", None)
    for name, value in data.items():
        if name in HONOURED or name in IGNORED:
            continue
        if name in NEUTRAL and (value is None or value == NEUTRAL[name]):
            continue
        raise InvalidRequest(f"{name}: not supported by this server", name, "unsupported_parameter")
    return ChatRequest(
        model=_model(data.get("model")), messages=_messages(data.get("messages")),
        max_tokens=_max_tokens(data), n=_int(data, "n", 1, 1, settings.SERVING_MAX_CHOICES),
        temperature=_number(data, "temperature", None, 0.0, 2.0), top_p=_number(data, "top_p", 1.0, 0.0, 1.0,
                                                                               low_open=True),
        stop=_stop(data.get("stop")), seed=_seed(data.get("seed")), stream=_bool(data, "stream"),
        include_usage=_include_usage(data))


def _model(value) -> str:
    if value is None:
        return settings.MODEL_LINE_DEFAULT
    if not isinstance(value, str) or not value:
        raise InvalidRequest("model: the name of a model line (GET /v1/models lists them)", "model")
    return value


def _messages(value) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise InvalidRequest("messages: a non-empty list is required", "messages")
    # Rendering and tokenizing cost grows with every message, even an empty one: bounded
    # here, before any of it is done.
    if len(value) > settings.SERVING_MAX_MESSAGES:
        raise InvalidRequest(f"messages: at most {settings.SERVING_MAX_MESSAGES} messages (got {len(value)})",
                             "messages", "too_many_messages")
    for i, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise InvalidRequest(f"messages[{i}].role: one of {', '.join(ROLES)}", f"messages[{i}].role")
        if not isinstance(message.get("content"), str):
            raise InvalidRequest(f"messages[{i}].content: a string", f"messages[{i}].content")
        extra = set(message) - {"role", "content", "name"}
        if extra:
            name = sorted(extra)[0]
            raise InvalidRequest(f"messages[{i}].{name}: not supported by this server", f"messages[{i}].{name}",
                                 "unsupported_parameter")
    return [{"role": m["role"], "content": m["content"]} for m in value]


def _max_tokens(data) -> int:
    name = "max_completion_tokens" if "max_completion_tokens" in data else "max_tokens"
    value = data.get(name)
    if value is None:
        return settings.SERVING_DEFAULT_MAX_TOKENS
    if not _is_int(value) or not 1 <= value <= settings.SERVING_MAX_TOKENS:
        raise InvalidRequest(f"{name}: an integer from 1 to {settings.SERVING_MAX_TOKENS}", name)
    return value


def _int(data, name, default, low, high) -> int:
    value = data.get(name)
    if value is None:
        return default
    if not _is_int(value) or not low <= value <= high:
        raise InvalidRequest(f"{name}: an integer from {low} to {high}", name)
    return value


def _number(data, name, default, low, high, *, low_open=False):
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high \
            or (low_open and value == low):
        bound = f"greater than {low}" if low_open else f"from {low}"
        raise InvalidRequest(f"{name}: a number {bound} to {high}", name)
    return float(value)


def _stop(value) -> list[str]:
    if value is None:
        return []
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or len(stops) > 4 or not all(isinstance(s, str) and s for s in stops):
        raise InvalidRequest("stop: a non-empty string or a list of up to 4 of them", "stop")
    return stops


def _seed(value) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or not -(2**63) <= value < 2**63:
        raise InvalidRequest("seed: an integer", "seed")
    return value


def _bool(data, name) -> bool:
    value = data.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name}: true or false", name)
    return value


def _include_usage(data) -> bool:
    options = data.get("stream_options")
    if options is None:
        return False
    if not data.get("stream"):
        raise InvalidRequest("stream_options: only allowed with \"stream\": true", "stream_options")
    if not isinstance(options, dict) or set(options) - {"include_usage"} \
            or not isinstance(options.get("include_usage", False), bool):
        raise InvalidRequest("stream_options: only {\"include_usage\": true|false} is supported", "stream_options")
    return options.get("include_usage", False)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
