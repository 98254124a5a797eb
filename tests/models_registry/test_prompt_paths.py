"""One prompt module: trainer, built-in serving, Arena and Ollama give the same prompt bytes."""

import pytest

from models_registry import services
from models_registry.ollama_template import ollama_template
from models_registry.serving.chat import prepare
from models_registry.serving.engine import Engine
from tests.models_registry.chat_templates import CONVERSATIONS
from tests.models_registry.factories import make_line, make_version


@pytest.fixture
def active(db, toy, alice):
    line = make_line(base_model=str(toy["base"]))
    version = make_version(line, adapter_src=toy["a"])
    services.promote_version(version, alice, "serve it")
    return line, version


def test_every_path_renders_the_same_prompt_bytes_and_tokens(active, toy, go_renderer, monkeypatch):
    from transformers import AutoTokenizer

    from arena.prompts import generation_prompt, training_texts
    from training.trainer.prompts import IGNORE_INDEX, PromptFormat

    line, version = active
    trainer = PromptFormat(AutoTokenizer.from_pretrained(toy["base"]), max_seq_length=4096)
    served_texts = []
    encode = Engine.encode

    def recording_encode(self, text, **kwargs):
        served_texts.append(text)
        return encode(self, text, **kwargs)

    monkeypatch.setattr(Engine, "encode", recording_encode)
    template = ollama_template(version.prompt)
    bos = version.prompt.get("bos_token") or ""
    for name, messages in CONVERSATIONS.items():
        answered = [*messages, {"role": "assistant", "content": "Run ls."}]
        trained = trainer.texts(answered)[0]
        prepared = prepare(line.name, messages, max_tokens=2)
        prepared.close()
        paths = {
            "serving": served_texts[-1],
            "arena (generation)": generation_prompt(version.prompt, messages),
            "arena (reference loss)": training_texts(version.prompt, messages, "Run ls.")[0],
            "ollama (Go)": (bos if trained.startswith(bos) else "") + go_renderer.render(template, messages),
        }
        assert paths == dict.fromkeys(paths, trained), name
        encoded = trainer.encode(answered)
        assert prepared.ids == encoded.input_ids[:encoded.labels.count(IGNORE_INDEX)], name


def test_a_version_ollama_cannot_take_is_still_served_with_its_exact_prompt(db, toy, alice, monkeypatch):
    from models_registry.ollama_template import OllamaTemplateError
    from tests.models_registry.chat_templates import MISTRAL_V3_SYSTEM_LAST, chat
    from training.trainer.prompts import render_prompt

    line = make_line(base_model=str(toy["base"]))
    version = make_version(line, adapter_src=toy["a"])
    version.prompt = chat(MISTRAL_V3_SYSTEM_LAST, bos="<s>", eos="</s>")
    version.save(update_fields=["prompt"])
    with pytest.raises(OllamaTemplateError):
        ollama_template(version.prompt)
    services.promote_version(version, alice, "no Ollama here")
    seen = []
    encode = Engine.encode

    def recording_encode(self, text, **kwargs):
        seen.append(text)
        return encode(self, text, **kwargs)

    monkeypatch.setattr(Engine, "encode", recording_encode)
    messages = CONVERSATIONS["system and multi-turn"]
    prepared = prepare(line.name, messages, max_tokens=2)
    try:
        assert prepared.generate(0, max_tokens=2)
    finally:
        prepared.close()
    assert seen == [render_prompt(version.prompt, messages)]
    assert seen[0].endswith("[INST] Answer in one line.\n\nPrint {\"a\": 1} with jq {{ . }}[/INST]")
