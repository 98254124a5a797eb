"""OpenAI-compatible serving: GET /v1/models, POST /v1/chat/completions.

Any role may call them (accounts.view_dashboard): an agent uses a Viewer token. The
`model` field names a model line; the line's active version answers.
"""

import time
import uuid

from django.conf import settings
from django.http import JsonResponse

from accounts.api import api_view, json_error, read_json
from models_registry.models import ModelLine
from models_registry.prompting import PromptError
from models_registry.serving import runtime
from models_registry.serving.chat import complete

ROLES = ("system", "user", "assistant")


@api_view("accounts.view_dashboard")
def models(request):
    lines = ModelLine.objects.filter(versions__status="active").distinct()
    return JsonResponse({"object": "list", "data": [
        {"id": line.name, "object": "model", "created": int(line.created_at.timestamp()), "owned_by": "academy"}
        for line in lines]})


@api_view("accounts.view_dashboard", methods=("POST",))
def chat_completions(request):
    data, error = read_json(request, settings.API_MAX_BODY_BYTES)
    if error:
        return error
    params, problems = _parse(data)
    if problems:
        return json_error("invalid chat completion request", 400, problems)
    line = params["model"]
    if not ModelLine.objects.filter(name=line).exists():
        return json_error(f"unknown model {line!r}", 404, ["GET /v1/models lists the lines being served"])
    try:
        served, completion = complete(line, params["messages"], max_tokens=params["max_tokens"], stop=params["stop"])
    except runtime.NoActiveVersion:
        return json_error(f"model line {line!r} has no active version", 503,
                          ["promote a version to serve it"], Retry_After="30")
    except PromptError as exc:
        return json_error("messages do not fit the model's prompt format", 400, [str(exc)])
    response = JsonResponse(_body(line, served, completion))
    response["X-Academy-Version"] = f"{line}:{served.label}"
    return response


def _parse(data) -> tuple[dict, list[str]]:
    if not isinstance(data, dict):
        return {}, ["body must be a JSON object"]
    problems = []
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        problems.append("messages: a non-empty list is required")
        messages = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES \
                or not isinstance(message.get("content"), str):
            problems.append(f"messages[{i}]: needs role (system, user or assistant) and string content")
    max_tokens = data.get("max_tokens", data.get("max_completion_tokens", settings.SERVING_DEFAULT_MAX_TOKENS))
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) \
            or not 1 <= max_tokens <= settings.SERVING_MAX_TOKENS:
        problems.append(f"max_tokens: an integer from 1 to {settings.SERVING_MAX_TOKENS}")
    if data.get("stream"):
        problems.append("stream: only non-streaming responses are served; send \"stream\": false")
    stop = data.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        problems.append("stop: a string or a list of strings")
    model = data.get("model") or settings.MODEL_LINE_DEFAULT
    if not isinstance(model, str):
        problems.append("model: the name of a model line")
    return {"messages": messages, "max_tokens": max_tokens, "stop": stop, "model": model}, problems


def _body(line: str, served, completion) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": line,
        "system_fingerprint": f"{line}:{served.label}",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": completion.text},
                     "finish_reason": completion.finish_reason}],
        "usage": {"prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens,
                  "total_tokens": completion.prompt_tokens + completion.completion_tokens},
    }
