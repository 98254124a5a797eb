"""The exact training prompt for an exam or holdout item, through the prompt code serving uses.

`training_texts` splits a conversation into (prompt text, response text) the way the
trainer does (training/trainer/prompts.py PromptFormat.texts), but renders with the
adapter's saved prompt block instead of a tokenizer, so reference losses are measured on
the very text each adapter was trained on.
"""

from models_registry.prompting import PromptError, render_prompt


def generation_prompt(prompt: dict, messages: list[dict]) -> str:
    """The text a model continues to answer `messages` (as serving renders it)."""
    try:
        return render_prompt(prompt, messages, add_generation_prompt=True)
    except PromptError:
        return render_prompt(prompt, _fold_system(messages), add_generation_prompt=True)


def training_texts(prompt: dict, messages: list[dict], answer: str) -> tuple[str, str]:
    """(prompt text, response text ending with EOS) for `answer` given `messages`."""
    eos = prompt.get("eos_token") or ""
    if prompt.get("style") == "chat_template":
        try:
            head, full = _render_pair(prompt, messages, answer)
        except PromptError:
            head, full = _render_pair(prompt, _fold_system(messages), answer)
        response = full[len(head):] if full.startswith(head) else answer
    else:
        head, response = render_prompt(prompt, messages, add_generation_prompt=True), answer
    if eos and eos not in response:
        response += eos
    return head, response


def _render_pair(prompt: dict, messages: list[dict], answer: str) -> tuple[str, str]:
    head = render_prompt(prompt, messages, add_generation_prompt=True)
    full = render_prompt(prompt, [*messages, {"role": "assistant", "content": answer}], add_generation_prompt=False)
    return head, full


def _fold_system(messages: list[dict]) -> list[dict]:
    """As the trainer does for templates without a system role: prepend it to the first user turn."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system:
        first_user = next(m for m in rest if m["role"] == "user")
        first_user["content"] = f"{system}\n\n{first_user['content']}"
    return rest
