"""The one prompt module: chat messages -> the exact text an adapter was trained on.

The trainer, the built-in serving, the Arena and the Ollama export all render prompts
through render_prompt(), so none of them can drift from the others. The prompt block of
academy_adapter.json (PromptFormat.metadata()) holds either the base model's Jinja chat
template, rendered here the way transformers renders it (sandboxed, trim_blocks,
lstrip_blocks, loopcontrols, raise_exception), or the Alpaca format string. A template
that refuses a system message gets the system prompt folded into the first user turn.
encode_pair() tokenizes a (prompt, response) pair (the BOS rule and the cut to the length
budget) for the trainer's PromptFormat, serving's engine and the Arena's scoring model alike;
PromptFormat masks the prompt out of the labels. No Django import: this module runs inside
the training container.
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache

from training.trainer.data import to_alpaca

IGNORE_INDEX = -100
ALPACA_TEMPLATE = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n{output}"
)
ALPACA_STOP = "\n### Instruction:"


@dataclasses.dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


class PromptFormat:
    """Turns conversations into (input_ids, labels) for one tokenizer."""

    def __init__(self, tokenizer, max_seq_length: int):
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        # Whole texts are tokenized and then cut to max_seq_length here, so the tokenizer's own
        # "longer than the maximum" notice would only repeat what the cut already handles.
        getattr(tokenizer, "deprecation_warnings", {})["sequence-length-is-longer-than-the-specified-maximum"] = True
        template = getattr(tokenizer, "chat_template", None)
        if isinstance(template, dict):  # several named templates: the default one is used
            template = template.get("default") or next(iter(template.values()), None)
        self.chat_template = template or None
        self.style = "chat_template" if self.chat_template else "alpaca"
        self.eos_token = tokenizer.eos_token or ""
        self._bos = self._leading_bos()

    def metadata(self) -> dict:
        """The `prompt` block of academy_adapter.json."""
        stop = [self.eos_token] if self.eos_token else []
        if self.style == "alpaca":
            stop.append(ALPACA_STOP)
        return {
            "style": self.style,
            "template": self.chat_template if self.style == "chat_template" else ALPACA_TEMPLATE,
            "eos_token": self.eos_token,
            "stop": stop,
            # add_bos_token: the tokenizer puts BOS in front by itself (the text then has none);
            # bos_token: the text a template's {{ bos_token }} renders, as transformers passes it.
            "add_bos_token": self._bos is not None,
            "bos_token": self.tokenizer.bos_token or None,
        }

    def texts(self, messages: list[dict]) -> tuple[str, str]:
        """(prompt text, response text); the response ends with EOS."""
        if self.style == "chat_template":
            return example_texts(self.metadata(), messages)
        fields = to_alpaca(messages)
        response = fields["output"]
        if self.eos_token and self.eos_token not in response:
            response += self.eos_token
        return ALPACA_TEMPLATE.format(**{**fields, "output": ""}), response

    def encode(self, messages: list[dict]) -> Encoded | None:
        """Tokenize one conversation; None when no response token fits in max_seq_length."""
        prompt, response = encode_pair(self.tokenizer, *self.texts(messages), add_bos=self._bos is not None,
                                       max_length=self.max_seq_length)
        if not response:
            return None
        return Encoded(input_ids=prompt + response, labels=[IGNORE_INDEX] * len(prompt) + response)

    def _leading_bos(self) -> int | None:
        """BOS id when the tokenizer adds one by itself (Llama-style), else None."""
        bos = self.tokenizer.bos_token_id
        if bos is None:
            return None
        ids = self.tokenizer("a")["input_ids"]
        return bos if ids[:1] == [bos] else None


def encode_pair(tokenizer, prompt: str, response: str = "", *, add_bos: bool,
                max_length: int | None = None) -> tuple[list[int], list[int]]:
    """(prompt ids, response ids) tokenized as training does; every path tokenizes through here.

    No special tokens are added, except BOS in front of the prompt when `add_bos` (the prompt
    block's add_bos_token) and the text does not already start with it. With `max_length`,
    long pairs keep (part of) their response: the prompt is cut from the left, never below
    half the budget, and the response is cut from the right.
    """
    head = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    if add_bos and bos is not None and head[:1] != [bos]:
        head = [bos, *head]
    tail = tokenizer(response, add_special_tokens=False)["input_ids"] if response else []
    if max_length is not None:
        tail = tail[: max(max_length - len(head), max_length // 2)]
        if len(head) + len(tail) > max_length:
            head = head[len(head) - (max_length - len(tail)):]
    return head, tail


# ---- rendering: the one place where messages become prompt text


class PromptError(ValueError):
    """The messages cannot be rendered with this adapter's prompt format."""


def render_prompt(prompt: dict, messages: list[dict], *, add_generation_prompt: bool = True) -> str:
    """The text the model continues for `messages` ([{"role", "content"}], ending with a user turn).

    `prompt` is the adapter's prompt block (academy_adapter.json, ModelVersion.prompt). The
    text is exactly what training used for the same conversation, BOS text included when
    the template writes it. Raises PromptError.
    """
    style = prompt.get("style")
    if style == "chat_template":
        return render_chat_template(prompt, messages, add_generation_prompt=add_generation_prompt)
    if style == "alpaca":
        return render_alpaca(prompt.get("template") or ALPACA_TEMPLATE, messages)
    raise PromptError(f"unknown prompt style {style!r}")


def example_texts(prompt: dict, messages: list[dict]) -> tuple[str, str]:
    """(prompt text, response text ending with EOS) of a conversation whose last message is the answer."""
    head, full = render_example(prompt, messages)
    response = full[len(head):] if full.startswith(head) else messages[-1]["content"]
    eos = prompt.get("eos_token") or ""
    if eos and eos not in response:
        response += eos
    return head, response


def render_example(prompt: dict, messages: list[dict]) -> tuple[str, str]:
    """(prompt text, full text) of a training conversation whose last message is the answer."""
    style = prompt.get("style")
    if style == "alpaca":
        text = render_prompt(prompt, messages[:-1])
        return text, text + messages[-1]["content"]
    if style != "chat_template":
        raise PromptError(f"unknown prompt style {style!r}")
    try:
        return _render_pair(prompt, messages)
    except PromptError:
        folded = fold_system(messages)
        if folded == messages:
            raise
        return _render_pair(prompt, folded)


def _render_pair(prompt: dict, messages: list[dict]) -> tuple[str, str]:
    return (render_template(prompt, messages[:-1], add_generation_prompt=True),
            render_template(prompt, messages, add_generation_prompt=False))


def render_chat_template(prompt: dict, messages: list[dict], *, add_generation_prompt: bool = True) -> str:
    """Render with the chat template; a template that refuses system messages gets them folded."""
    try:
        return render_template(prompt, messages, add_generation_prompt=add_generation_prompt)
    except PromptError:
        folded = fold_system(messages)
        if folded == messages:
            raise
        return render_template(prompt, folded, add_generation_prompt=add_generation_prompt)


def render_template(prompt: dict, messages: list[dict], *, add_generation_prompt: bool) -> str:
    """One plain render of the Jinja chat template, as transformers' apply_chat_template does it."""
    from jinja2.exceptions import TemplateError

    try:
        return _compile(prompt["template"]).render(
            messages=messages, tools=None, documents=None, add_generation_prompt=add_generation_prompt,
            bos_token=prompt.get("bos_token") or "", eos_token=prompt.get("eos_token") or "")
    except TemplateError as exc:
        raise PromptError(f"chat template failed: {exc}") from exc
    except (TypeError, KeyError, IndexError, AttributeError) as exc:
        raise PromptError(f"chat template failed: {exc!r}") from exc


def render_alpaca(template: str, messages: list[dict]) -> str:
    """The Alpaca prompt: the last user turn is the instruction, other turns the input."""
    if not any(m.get("role") == "user" for m in messages):
        raise PromptError("an alpaca prompt needs at least one user message")
    fields = to_alpaca([*messages, {"role": "assistant", "content": ""}])
    try:
        return template.format(**{**fields, "output": ""})
    except (KeyError, IndexError, ValueError) as exc:
        raise PromptError(f"alpaca template cannot be filled: {exc}") from exc


def fold_system(messages: list[dict]) -> list[dict]:
    """Templates without a system role get the system prompt at the head of the first user turn."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system:
        first_user = next((m for m in rest if m["role"] == "user"), None)
        if first_user is not None:
            first_user["content"] = f"{system}\n\n{first_user['content']}"
    return rest


def stop_sequences(prompt: dict) -> list[str]:
    """Strings that end a generation: the recorded stops plus EOS."""
    stops = list(prompt.get("stop") or [])
    eos = prompt.get("eos_token")
    if eos and eos not in stops:
        stops.append(eos)
    return stops


@lru_cache(maxsize=32)
def _compile(template: str):
    import jinja2
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class _Generation(Extension):
        # transformers' {% generation %} marks assistant text for masks; rendering keeps the body
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller):
            return caller()

    def _raise(message):
        raise jinja2.exceptions.TemplateError(message)

    def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def _strftime_now(fmt):
        import datetime

        return datetime.datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[_Generation, loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(template)
    except jinja2.exceptions.TemplateError as exc:
        raise PromptError(f"chat template does not parse: {exc}") from exc
