"""OpenAI-compatible serving: GET /v1/models, POST /v1/chat/completions.

Any role may call them (accounts.view_dashboard): an agent uses a Viewer token. The
`model` field names a model line; the line's active version answers. Errors use OpenAI's
error object; `"stream": true` answers with server-sent events in OpenAI's chunk format.
"""

import asyncio
import json
import queue
import threading
import time
import uuid

from django.conf import settings
from django.db import connections
from django.http import JsonResponse, StreamingHttpResponse

from accounts.api import read_json
from accounts.roles import VIEW_DASHBOARD
from models_registry.feedback import record_completion
from models_registry.models import ModelLine
from models_registry.prompting import PromptError
from models_registry.serving import admission, runtime
from models_registry.serving.chat import ContextLengthExceeded, prepare
from models_registry.serving.errors import openai_api, openai_error
from models_registry.serving.params import InvalidRequest, parse_chat_request


@openai_api(VIEW_DASHBOARD)
def models(request):
    lines = ModelLine.objects.filter(versions__status="active").distinct()
    return JsonResponse({"object": "list", "data": [
        {"id": line.name, "object": "model", "created": int(line.created_at.timestamp()), "owned_by": "academy"}
        for line in lines]})


@openai_api(VIEW_DASHBOARD, methods=("POST",))
def chat_completions(request):
    data, error = read_json(request, settings.API_MAX_BODY_BYTES)
    if error:
        return error
    try:
        chat = parse_chat_request(data)
    except InvalidRequest as exc:
        return openai_error(str(exc), 400, param=exc.param, code=exc.code)
    if not ModelLine.objects.filter(name=chat.model).exists():
        return openai_error(f"The model {chat.model!r} does not exist (GET /v1/models lists the lines served)",
                            404, param="model", code="model_not_found")
    return respond(chat, request=request)


SESSION_HEADER = "X-Academy-Session"


def conversation_key(request) -> str:
    """What keeps a conversation on one version during a canary: its session header, else the token."""
    session = request.headers.get(SESSION_HEADER, "").strip()[:200]
    if session:
        return f"session:{session}"
    token = getattr(getattr(request, "principal", None), "token", None)
    return f"token:{token.pk}" if token is not None else f"user:{request.user.pk}"


def respond(chat, *, version=None, request=None):
    """Answer a checked request: the admission queue, prepare, then a completion or an event stream.

    With `version` (a ModelVersion of the line `chat.model`) that version answers instead of the
    active one: the dashboard's playground calls this with the same queue and limits as /v1.
    With `request` (a /v1 call) the conversation may be routed to a running canary, and the
    completion is recorded so the agent can send its outcome (models_registry.feedback).
    """
    started = time.monotonic()
    try:
        admission.enter()
    except admission.QueueFull as exc:
        return openai_error(f"{exc}; retry after {exc.retry_after} s", 429, code="queue_full",
                            Retry_After=str(exc.retry_after))
    # Rendering and tokenizing happen inside the admission slot, so the queue bounds them too.
    try:
        prepared = prepare(chat.model, chat.messages, max_tokens=chat.max_tokens, version=version,
                           key=conversation_key(request) if request is not None else None)
    except (runtime.NoActiveVersion, PromptError, ContextLengthExceeded) as exc:
        admission.leave()
        return _refusal(chat, exc)
    except BaseException:
        admission.leave()
        raise
    ident = f"chatcmpl-{uuid.uuid4().hex}"

    def record(*, error=False, timed_out=False):
        if request is not None:
            record_completion(ident, prepared.served, user=request.user, canary_id=prepared.canary_id,
                              latency_ms=(time.monotonic() - started) * 1000, error=error, timed_out=timed_out)

    if chat.stream:
        response = StreamingHttpResponse(_events(chat, prepared, ident, record), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    else:
        try:
            body, timed_out = _completion(chat, prepared, ident)
        except Exception:
            record(error=True)
            raise
        finally:
            prepared.close()
            admission.leave()
        record(timed_out=timed_out)
        response = JsonResponse(body)
    response["X-Academy-Version"] = f"{chat.model}:{prepared.served.label}"
    return response


def _refusal(chat, exc: Exception):
    """The OpenAI-shaped answer to a request prepare() refused."""
    if isinstance(exc, runtime.NoActiveVersion):
        return openai_error(f"model line {chat.model!r} has no active version: promote a version to serve it",
                            503, code="no_active_version", Retry_After="30")
    if isinstance(exc, PromptError):
        return openai_error(f"messages do not fit the model's prompt format: {exc}", 400, param="messages")
    return openai_error(str(exc), 400, param="messages", code="context_length_exceeded")


def _options(chat) -> dict:
    return {"max_tokens": chat.max_tokens, "stop": chat.stop, "temperature": chat.temperature,
            "top_p": chat.top_p, "seed": chat.seed}


def _completion(chat, prepared, ident: str) -> tuple[dict, bool]:
    results = [prepared.generate(i, **_options(chat)) for i in range(chat.n)]
    completion_tokens = sum(r.completion_tokens for r in results)
    return {
        **_envelope(chat, prepared, "chat.completion", ident),
        "choices": [{"index": i, "message": {"role": "assistant", "content": r.text}, "logprobs": None,
                     "finish_reason": r.finish_reason} for i, r in enumerate(results)],
        "usage": _usage(prepared.prompt_tokens, completion_tokens),
    }, any(r.timed_out for r in results)


def _envelope(chat, prepared, kind: str, ident: str | None = None) -> dict:
    return {"id": ident or f"chatcmpl-{uuid.uuid4().hex}", "object": kind, "created": int(time.time()),
            "model": chat.model, "system_fingerprint": f"{chat.model}:{prepared.served.label}"}


def _usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


_END = "end"


def _events(chat, prepared, ident: str, record):
    """Server-sent events: for each choice a role chunk, content chunks and a finish chunk; then [DONE].

    Generation starts now in a thread (it holds the engine lock) and always runs to its end,
    which frees the lease and the queue slot even if the body is never read; a client that
    goes away mid-stream cancels it.
    """
    pieces: queue.SimpleQueue = queue.SimpleQueue()
    envelope = _envelope(chat, prepared, "chat.completion.chunk", ident)

    def work():
        failed = timed_out = False
        try:
            tokens = 0
            for i in range(chat.n):
                pieces.put(("delta", i, {"role": "assistant", "content": ""}))
                result = prepared.generate(i, **_options(chat),
                                           on_text=lambda piece, i=i: pieces.put(("delta", i, {"content": piece})))
                tokens += result.completion_tokens
                timed_out = timed_out or result.timed_out
                pieces.put(("finish", i, result.finish_reason))
                if prepared.cancel.is_set():
                    break
            pieces.put(("usage", tokens, None))
        except Exception as exc:  # told in the stream: the status line has already gone out
            failed = True
            pieces.put(("error", f"generation failed: {exc}", None))
        finally:
            prepared.close()
            admission.leave()
            record(error=failed, timed_out=timed_out)  # before [DONE]: the agent may send its outcome at once
            connections.close_all()  # this thread's own database connection
            pieces.put((_END, None, None))

    threading.Thread(target=work, name="academy-chat-stream", daemon=True).start()

    async def stream():
        try:
            while True:
                kind, a, b = await asyncio.to_thread(pieces.get)
                if kind == _END:
                    break
                if kind == "delta":
                    yield _sse({**envelope, "choices": [{"index": a, "delta": b, "logprobs": None,
                                                         "finish_reason": None}]})
                elif kind == "finish":
                    yield _sse({**envelope, "choices": [{"index": a, "delta": {}, "logprobs": None,
                                                         "finish_reason": b}]})
                elif kind == "usage" and chat.include_usage:
                    yield _sse({**envelope, "choices": [], "usage": _usage(prepared.prompt_tokens, a)})
                elif kind == "error":
                    yield _sse({"error": {"message": a, "type": "server_error", "param": None, "code": None}})
            yield b"data: [DONE]\n\n"
        finally:
            prepared.cancel.set()

    return stream()


def _sse(payload: dict) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()
