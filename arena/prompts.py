"""The exact training prompt for an exam or holdout item, through the one prompt module.

`training_texts` splits a conversation into (prompt text, response text) with the very
code the trainer uses (training/trainer/prompts.py example_texts), fed the adapter's saved
prompt block instead of a tokenizer, so reference losses are measured on the very text
each adapter was trained on. Tokenizing goes through the same module's encode_pair().
"""

from training.trainer.prompts import example_texts, render_prompt


def generation_prompt(prompt: dict, messages: list[dict]) -> str:
    """The text a model continues to answer `messages` (as serving renders it)."""
    return render_prompt(prompt, messages, add_generation_prompt=True)


def training_texts(prompt: dict, messages: list[dict], answer: str) -> tuple[str, str]:
    """(prompt text, response text ending with EOS) for `answer` given `messages`."""
    return example_texts(prompt, [*messages, {"role": "assistant", "content": answer}])
