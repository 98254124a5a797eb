"""Chat completions against a line's active version (what /v1/chat/completions runs).

prepare() does everything that can refuse a request before any generation: it leases the
active adapter, renders and tokenizes the prompt and checks it fits the model's context.
The Prepared object then generates each choice and must be closed, which ends the lease.
"""

import threading

from django.conf import settings

from models_registry.prompting import render_prompt, stop_sequences
from models_registry.serving import runtime


class ContextLengthExceeded(ValueError):
    """The prompt plus the requested completion do not fit the model's positions."""

    def __init__(self, context: int, prompt_tokens: int, max_tokens: int, *, at_least: bool = False):
        more = "at least " if at_least else ""
        super().__init__(
            f"This model's maximum context length is {context} tokens. However, you requested "
            f"{more}{prompt_tokens + max_tokens} tokens ({more}{prompt_tokens} in the messages, {max_tokens} in the "
            f"completion). Please reduce the length of the messages or completion.")
        self.context, self.prompt_tokens, self.max_tokens = context, prompt_tokens, max_tokens


class Prepared:
    def __init__(self, served, engine, ids: list[int], canary_id: int | None = None):
        self.served, self.engine, self.ids, self.canary_id = served, engine, ids, canary_id
        self.cancel = threading.Event()
        self._closed = False

    @property
    def prompt_tokens(self) -> int:
        return len(self.ids)

    def generate(self, choice: int, *, max_tokens: int, stop=(), temperature=None, top_p=1.0, seed=None,
                 on_text=None):
        """One choice; a seeded request seeds each choice with seed + index (reproducible, distinct)."""
        return self.engine.stream(
            self.served.adapter_name, self.ids, max_tokens=max_tokens,
            stop=stop_sequences(self.served.prompt) + list(stop), temperature=temperature, top_p=top_p,
            seed=None if seed is None else seed + choice, max_seconds=settings.SERVING_MAX_SECONDS,
            cancel=self.cancel, on_text=on_text)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            runtime.release(self.served)


def prepare(line: str, messages: list[dict], *, max_tokens: int, version=None, key: str | None = None) -> Prepared:
    """Lease the active adapter (or `version`'s, any version of the line) and tokenize the prompt;
    refuse what cannot fit. With `key` (a conversation's session or token) a running canary may
    answer instead of the active version (runtime.route).

    Raises runtime.NoActiveVersion, prompting.PromptError and ContextLengthExceeded.
    """
    canary_id = None
    if version is not None:
        served, engine = runtime.acquire_version(version)
    elif key is not None:
        served, engine, canary_id = runtime.route(line, key)
    else:
        served, engine = runtime.acquire(line)
    try:
        # No token stands for more than max_token_chars characters: messages that cannot fit
        # even at that density are refused before rendering or tokenizing them.
        fewest = sum(len(m["content"]) for m in messages) // engine.max_token_chars
        if fewest + max_tokens > engine.context_length:
            raise ContextLengthExceeded(engine.context_length, fewest, max_tokens, at_least=True)
        prompt = render_prompt(served.prompt, messages)
        # The same bound on the rendered prompt, whose template text the check above did not see.
        fewest = len(prompt) // engine.max_token_chars
        if fewest + max_tokens > engine.context_length:
            raise ContextLengthExceeded(engine.context_length, fewest, max_tokens, at_least=True)
        ids = engine.encode(prompt, add_bos=bool(served.prompt.get("add_bos_token")))
        if len(ids) + max_tokens > engine.context_length:
            raise ContextLengthExceeded(engine.context_length, len(ids), max_tokens)
    except BaseException:
        runtime.release(served)
        raise
    return Prepared(served, engine, ids, canary_id)


def complete(line: str, messages: list[dict], *, max_tokens: int, stop: list[str] = ()):
    """Answer with the adapter active when the call starts; it is kept loaded until we finish.

    Raises runtime.NoActiveVersion, prompting.PromptError and ContextLengthExceeded.
    Returns (served, completion).
    """
    prepared = prepare(line, messages, max_tokens=max_tokens)
    try:
        return prepared.served, prepared.generate(0, max_tokens=max_tokens, stop=stop)
    finally:
        prepared.close()
