"""The Arena renders through the one prompt module, guard for a missing user turn included."""

import pytest

from arena.prompts import generation_prompt, training_texts
from tests.models_registry.chat_templates import PROMPTS
from training.trainer.prompts import PromptError, example_texts

SYSTEM_ONLY = [{"role": "system", "content": "Answer in one line."}]


@pytest.mark.parametrize("name", ["gemma2", "mistral"])
def test_a_conversation_without_a_user_turn_is_a_prompt_error_for_templates_without_a_system_role(name):
    with pytest.raises(PromptError):
        training_texts(PROMPTS[name], SYSTEM_ONLY, "Run ls.")


def test_a_generation_prompt_without_a_user_turn_is_a_prompt_error():
    with pytest.raises(PromptError, match="no element 0"):
        generation_prompt(PROMPTS["gemma2"], SYSTEM_ONLY)
    with pytest.raises(PromptError, match="at least one user message"):
        generation_prompt(PROMPTS["alpaca"], SYSTEM_ONLY)


@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_reference_texts_are_the_trainers_texts(name):
    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "List files."}]
    head, response = training_texts(PROMPTS[name], messages, "Run `ls`.")
    assert (head, response) == example_texts(PROMPTS[name], [*messages, {"role": "assistant", "content": "Run `ls`."}])
    assert head == generation_prompt(PROMPTS[name], messages)
    assert response.startswith("Run `ls`.") and PROMPTS[name]["eos_token"] in response
