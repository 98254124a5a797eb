"""Ollama's engine (Go text/template) renders the derived TEMPLATE exactly as training prompted.

Reference: the one prompt module (training.trainer.prompts.render_prompt) rendering the
published Jinja template as transformers does; Ollama's tokenizer adds BOS, so the Go text
is compared with the training prompt minus its leading BOS text.
"""

import pytest

from models_registry import ollama_template
from models_registry.ollama_template import OllamaTemplateError
from tests.models_registry.chat_templates import CONVERSATIONS, MISTRAL_V3_SYSTEM_LAST, PROMPTS, chat
from training.trainer.prompts import render_prompt

CASES = [(family, name) for family in PROMPTS for name in CONVERSATIONS]


@pytest.mark.parametrize(("family", "conversation"), CASES, ids=[f"{f}-{c}" for f, c in CASES])
def test_go_renders_the_training_prompt_byte_for_byte(go_renderer, family, conversation):
    prompt, messages = PROMPTS[family], CONVERSATIONS[conversation]
    template = ollama_template.ollama_template(prompt)
    training = render_prompt(prompt, messages)
    bos = prompt.get("bos_token") or ""
    expected = training.removeprefix(bos)
    assert go_renderer.render(template, messages) == expected
    assert ollama_template.emulate_for(prompt, messages) == expected


@pytest.mark.parametrize("family", sorted(PROMPTS))
def test_go_accepts_every_derived_template(go_renderer, family):
    assert go_renderer.parse_error(ollama_template.ollama_template(PROMPTS[family])) is None


def test_end_markers_stay_on_their_own_turn(go_renderer):
    template = ollama_template.ollama_template(PROMPTS["tiny"])
    assert 'eq .Role "user" }}<|user|>\n{{ .Content }}</s>\n{{ $prev = "user" }}' in template
    text = go_renderer.render(template, CONVERSATIONS["multi-turn"])
    assert text.startswith("<|user|>\nHi</s>\n<|assistant|>\nHello! How can I help?</s>\n<|user|>\n")
    assert text.endswith("<|user|>\nAnd only directories?</s>\n<|assistant|>\n")


def test_contents_are_trimmed_in_go_as_jinja_trims_them(go_renderer):
    prompt = PROMPTS["llama3"]
    messages = [{"role": "system", "content": " \n sys\u00a0"}, {"role": "user", "content": "\t q \u3000\n"}]
    expected = render_prompt(prompt, messages).removeprefix("<|begin_of_text|>")
    assert "system<|end_header_id|>\n\nsys<|eot_id|>" in expected
    assert go_renderer.render(ollama_template.ollama_template(prompt), messages) == expected


def test_a_refused_system_role_is_folded_into_the_first_user_turn_in_go(go_renderer):
    prompt = PROMPTS["gemma2"]
    text = go_renderer.render(ollama_template.ollama_template(prompt), CONVERSATIONS["system and user"])
    assert text == ("<start_of_turn>user\nYou are a terse shell expert.\n\nList hidden files.<end_of_turn>\n"
                    "<start_of_turn>model\n")


def test_a_template_that_moves_the_system_prompt_is_refused():
    with pytest.raises(OllamaTemplateError, match="in place, in order"):
        ollama_template.ollama_template(chat(MISTRAL_V3_SYSTEM_LAST, bos="<s>", eos="</s>"))


def test_a_template_that_depends_on_conversation_length_is_refused():
    template = ("{% for m in messages %}{% if loop.length > 2 %}LONG{% endif %}<{{ m['role'] }}>{{ m['content'] }}"
                "{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}")
    with pytest.raises(OllamaTemplateError):
        ollama_template.ollama_template(chat(template))


def test_joints_that_do_not_factor_into_role_segments_still_render_exactly(go_renderer):
    # The separator before a user turn depends on what came before it, not only on the user role.
    template = ("{% for m in messages %}{% if m['role'] == 'user' and not loop.first %}"
                "{% if messages[loop.index0 - 1]['role'] == 'system' %}\n--\n{% else %}\n==\n{% endif %}{% endif %}"
                "[{{ m['role'] }}]{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}\n[assistant]{% endif %}")
    prompt = chat(template)
    assert ollama_template.derive(prompt).segments is None
    for messages in CONVERSATIONS.values():
        assert go_renderer.render(ollama_template.ollama_template(prompt), messages) == render_prompt(prompt, messages)


def test_a_template_that_repeats_the_last_message_is_refused():
    template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
                "{% if add_generation_prompt %}(re: {{ messages[-1]['content'] }})<assistant>{% endif %}")
    with pytest.raises(OllamaTemplateError, match="repeats"):
        ollama_template.ollama_template(chat(template))
