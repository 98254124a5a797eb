"""Prompt building and tokenization, with the prompt tokens masked out of the labels.

The base model's chat template is used when its tokenizer has one, otherwise the Alpaca
template. The exact template is recorded in the adapter metadata so serving builds the
same prompts.
"""

from __future__ import annotations

import dataclasses

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
            "add_bos_token": self._bos is not None,
            "bos_token": self.tokenizer.bos_token if self._bos is not None else None,
        }

    def texts(self, messages: list[dict]) -> tuple[str, str]:
        """(prompt text, response text); the response ends with EOS."""
        if self.style == "chat_template":
            try:
                prompt, full = self._render(messages)
            except Exception:  # noqa: BLE001 - jinja raises plain exceptions, e.g. "System role not supported"
                prompt, full = self._render(_fold_system(messages))
            response = full[len(prompt):] if full.startswith(prompt) else messages[-1]["content"]
        else:
            fields = to_alpaca(messages)
            prompt = ALPACA_TEMPLATE.format(**{**fields, "output": ""})
            response = fields["output"]
        if self.eos_token and self.eos_token not in response:
            response += self.eos_token
        return prompt, response

    def encode(self, messages: list[dict]) -> Encoded | None:
        """Tokenize one conversation; None when no response token fits in max_seq_length."""
        prompt_text, response_text = self.texts(messages)
        prompt = self._ids(prompt_text)
        if self._bos is not None and prompt[:1] != [self._bos]:
            prompt = [self._bos, *prompt]
        response = self._ids(response_text)
        limit = self.max_seq_length
        # Long examples keep (part of) their response: the prompt is cut from the left,
        # never below half the budget, and the response is cut from the right.
        response = response[: max(limit - len(prompt), limit // 2)]
        prompt = prompt[len(prompt) - (limit - len(response)):] if len(prompt) + len(response) > limit else prompt
        if not response:
            return None
        return Encoded(input_ids=prompt + response, labels=[IGNORE_INDEX] * len(prompt) + response)

    def _render(self, messages: list[dict]) -> tuple[str, str]:
        prompt = self.tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        return prompt, self.tokenizer.apply_chat_template(messages, tokenize=False)

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _leading_bos(self) -> int | None:
        """BOS id when the tokenizer adds one by itself (Llama-style), else None."""
        bos = self.tokenizer.bos_token_id
        if bos is None:
            return None
        ids = self.tokenizer("a")["input_ids"]
        return bos if ids[:1] == [bos] else None


def _fold_system(messages: list[dict]) -> list[dict]:
    """Templates without a system role get the system prompt at the head of the first user turn."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system:
        first_user = next(m for m in rest if m["role"] == "user")
        first_user["content"] = f"{system}\n\n{first_user['content']}"
    return rest
