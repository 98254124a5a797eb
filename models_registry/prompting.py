"""Turn chat messages into the exact prompt text an adapter was trained on.

The prompt block of academy_adapter.json holds either a Jinja chat template (rendered the
way transformers renders it: sandboxed, trim_blocks, lstrip_blocks) or an Alpaca format
string with {instruction}, {input} and {output} placeholders. Serving and the Ollama
Modelfile both derive from this one module so they cannot drift apart.
"""

from functools import lru_cache

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class PromptError(ValueError):
    """The messages cannot be rendered with this adapter's prompt format."""


def _raise(message):
    raise TemplateError(message)


@lru_cache(maxsize=32)
def _compile(template: str):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = _raise
    return env.from_string(template)


def render_chat(prompt: dict, messages: list[dict], *, add_generation_prompt: bool = True) -> str:
    """Render messages [{"role", "content"}] into the prompt text the model continues."""
    style = prompt.get("style")
    if style == "chat_template":
        try:
            return _compile(prompt["template"]).render(
                messages=messages, add_generation_prompt=add_generation_prompt,
                bos_token=prompt.get("bos_token") or "", eos_token=prompt.get("eos_token") or "")
        except TemplateError as exc:
            raise PromptError(f"chat template failed: {exc}") from exc
    if style == "alpaca":
        return _render_alpaca(prompt["template"], messages)
    raise PromptError(f"unknown prompt style {style!r}")


def _render_alpaca(template: str, messages: list[dict]) -> str:
    # As the trainer folds a conversation: the last user turn is the instruction, every
    # other turn becomes the input as "Role: content" lines, and the output is empty.
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        raise PromptError("an alpaca prompt needs at least one user message")
    context = [m for i, m in enumerate(messages) if i != users[-1]]
    try:
        return template.format(instruction=messages[users[-1]]["content"], output="",
                               input="\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in context))
    except (KeyError, IndexError, ValueError) as exc:
        raise PromptError(f"alpaca template cannot be filled: {exc}") from exc


_SENTINELS = {"system": "\x01SYSTEM\x01", "user": "\x01USER\x01", "assistant": "\x01ASSISTANT\x01"}


def ollama_template(prompt: dict) -> str:
    """The adapter's prompt format as an Ollama (Go) TEMPLATE.

    A chat template is rendered once with sentinel messages; the text between sentinels
    gives each role's prefix, which becomes one branch of a Go `range .Messages` loop.
    """
    if prompt.get("style") == "alpaca":
        head, _, tail = prompt["template"].partition("{output}")
        return (head.replace("{instruction}", "{{ .Prompt }}").replace("{input}", "{{ .System }}")
                + "{{ .Response }}" + tail)
    sample = [{"role": role, "content": text} for role, text in _SENTINELS.items()]
    full = render_chat(prompt, sample, add_generation_prompt=False)
    with_gen = render_chat(prompt, sample[:2], add_generation_prompt=True)
    without_gen = render_chat(prompt, sample[:2], add_generation_prompt=False)
    pieces = _split(full)
    generation = with_gen[len(without_gen):] if with_gen.startswith(without_gen) else ""
    branches = "".join(
        f'{{{{ {"if" if i == 0 else "else if"} eq .Role "{role}" }}}}{_go(pieces[role])}{{{{ .Content }}}}'
        + (_go(pieces["end"]) if role == "assistant" else "")
        for i, role in enumerate(_SENTINELS))
    return f"{{{{- range .Messages }}}}{branches}{{{{ end }}}}{{{{ end }}}}{_go(generation)}"


def _split(text: str) -> dict:
    pieces, rest = {}, text
    for role, sentinel in _SENTINELS.items():
        before, found, rest = rest.partition(sentinel)
        if not found:
            raise PromptError(f"chat template drops {role} messages; cannot derive an Ollama template")
        pieces[role] = before
    pieces["end"] = rest
    return pieces


def _go(literal: str) -> str:
    """Escape text so a Go template emits it verbatim."""
    return literal.replace("{{", '{{ "{{" }}')


def stop_sequences(prompt: dict) -> list[str]:
    stops = list(prompt.get("stop") or [])
    eos = prompt.get("eos_token")
    if eos and eos not in stops:
        stops.append(eos)
    return stops
