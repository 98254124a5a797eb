"""One chat completion against a line's active version (what /v1/chat/completions runs)."""

from models_registry.prompting import render_chat, stop_sequences
from models_registry.serving import runtime


def complete(line: str, messages: list[dict], *, max_tokens: int, stop: list[str] = ()):
    """Answer with the adapter active when the call starts; it is kept loaded until we finish.

    Raises runtime.NoActiveVersion and prompting.PromptError. Returns (served, completion).
    """
    served, engine = runtime.acquire(line)
    try:
        prompt = render_chat(served.prompt, messages)
        completion = engine.generate(served.adapter_name, prompt, max_tokens=max_tokens,
                                     stop=stop_sequences(served.prompt) + list(stop),
                                     add_bos=bool(served.prompt.get("add_bos_token")))
    finally:
        runtime.release(served)
    return served, completion
