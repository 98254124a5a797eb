"""The offline toy base model: build, determinism, both prompt paths, Django command and default."""

from __future__ import annotations

import json
import shutil

from django.core.management import call_command

from tests.training.trainer_fixtures import toy_model
from training.base_models import default_base_model, is_toy, toy_base_path
from training.trainer.tiny_base import TOY_NAME, build_tiny_base


def test_it_is_a_small_llama_saved_as_a_hugging_face_folder():
    from transformers import AutoModelForCausalLM

    folder = toy_model()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"):
        assert (folder / name).exists(), name
    assert json.loads((folder / "config.json").read_text())["model_type"] == "llama"
    params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(folder).parameters())
    assert 100_000 < params < 2_000_000
    assert "toy" in (folder / "README.md").read_text().lower()


def test_its_tokenizer_round_trips_any_text_and_has_a_chat_template():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(toy_model())
    text = "def f(x):\n    return x  # café, 日本, 🙂"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                             add_generation_prompt=True)
    assert rendered == "<|user|>\nhi</s>\n<|assistant|>\n"


def test_it_can_be_built_without_a_chat_template():
    from transformers import AutoTokenizer

    assert not AutoTokenizer.from_pretrained(toy_model(chat_template=False)).chat_template


def test_the_build_is_deterministic(tmp_path):
    again = build_tiny_base(tmp_path / "again")
    for name in ("model.safetensors", "tokenizer.json"):
        assert (again / name).read_bytes() == (toy_model() / name).read_bytes(), name


def test_default_base_model_prefers_the_setting(settings):
    settings.DEFAULT_BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert default_base_model() == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert not is_toy(default_base_model())


def test_default_base_model_falls_back_to_the_toy_under_the_data_root(settings, tmp_path):
    settings.DEFAULT_BASE_MODEL = ""
    settings.DATA_DIR = tmp_path
    shutil.copytree(toy_model(), tmp_path / "models" / TOY_NAME)  # already built: used as is
    assert default_base_model() == str(tmp_path / "models" / TOY_NAME)
    assert is_toy(default_base_model()) and toy_base_path() == tmp_path / "models" / TOY_NAME


def test_make_tiny_base_builds_once_and_rebuilds_with_force(tmp_path, capsys):
    target = tmp_path / "toy"
    call_command("make_tiny_base", "--output", str(target), "--no-chat-template")
    assert "Built" in capsys.readouterr().out
    assert (target / "model.safetensors").exists()
    assert not json.loads((target / "academy_toy.json").read_text())["chat_template"]
    call_command("make_tiny_base", "--output", str(target))
    assert "Kept existing" in capsys.readouterr().out
    call_command("make_tiny_base", "--output", str(target), "--force")
    assert "Rebuilt" in capsys.readouterr().out
    assert json.loads((target / "academy_toy.json").read_text())["chat_template"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind
