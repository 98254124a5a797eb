"""SmolLM2-135M-Instruct served with its adapters: /v1 through the official openai client, and the hot swap.

The adapters are real PEFT LoRA folders on SmolLM2 with the prompt block the trainer saves
(its ChatML template, <|im_end|> as EOS and stop); their answers are computed here with PEFT
directly and must be what serving returns.
"""

import json
from pathlib import Path

import pytest

from tests.real_model import NAME, cached_snapshot, install_snapshot

openai = pytest.importorskip("openai", reason="the dev extra installs the official openai client")
pytest.importorskip("peft", reason="serving needs the train extra (torch, transformers, peft)")

from tests.academy_server import AcademyServer  # noqa: E402

QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
MAX_TOKENS = 24

SETUP = """
from pathlib import Path
from django.contrib.auth import get_user_model
from accounts.services import create_api_token
from models_registry import services
from tests.models_registry.factories import make_line, make_version
admin = get_user_model().objects.get(username="admin")
line = make_line(name="smol", base_model={base!r})
services.promote_version(make_version(line, adapter_src=Path({adapter!r})), admin, "serve it")
_, raw = create_api_token(admin, name="agent", role="Viewer")
(Path({data!r}) / "agent-token").write_text(raw)
"""


@pytest.fixture(scope="module")
def smol(tmp_path_factory):
    """Two adapters on SmolLM2 (a: barely moved from the base, b: moved far) and each one's direct answer."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.trainer.prompts import PromptFormat, render_prompt

    folder = tmp_path_factory.mktemp("smol")
    base = str(cached_snapshot())
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    prompt_block = PromptFormat(tokenizer, 256).metadata()
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            task_type="CAUSAL_LM"))
    ids = tokenizer(render_prompt(prompt_block, QUESTION), add_special_tokens=False)["input_ids"]
    if prompt_block["add_bos_token"] and ids[:1] != [tokenizer.bos_token_id]:
        ids = [tokenizer.bos_token_id, *ids]  # as training and serving tokenize
    adapters, answers = {}, {}
    for name, scale, seed in (("a", 1e-4, 1), ("b", 0.5, 2)):
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for key, weight in peft.named_parameters():
                if "lora_B" in key:
                    weight.copy_(torch.randn(weight.shape, generator=generator) * scale)
        adapters[name] = folder / name
        peft.save_pretrained(adapters[name])
        (adapters[name] / "academy_adapter.json").write_text(json.dumps({
            "format_version": 1, "base_model": NAME, "base_architecture": "LlamaForCausalLM", "dataset_sha256": "",
            "hyperparameters": {}, "metrics": {}, "prompt": prompt_block, "trainer": {"backend": "peft"}}))
        with torch.inference_mode():  # the adapter's own answer, straight from PEFT
            out = peft.generate(input_ids=torch.tensor([ids]), max_new_tokens=MAX_TOKENS, do_sample=False,
                                eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
                                pad_token_id=tokenizer.pad_token_id)
        answers[name] = tokenizer.decode(out[0][len(ids):], skip_special_tokens=True)
    return {"adapters": adapters, "answers": answers, "prompt": prompt_block}


@pytest.fixture(scope="module")
def server(smol, tmp_path_factory):
    data = tmp_path_factory.mktemp("smol-server")
    install_snapshot(data / "models")
    setup = SETUP.format(base=NAME, adapter=str(smol["adapters"]["a"]), data=str(data))
    with AcademyServer(data, username="admin", password="pw-for-smol-tests", setup=setup) as running:
        yield running


def test_the_adapters_prompt_block_is_chatml_ending_at_im_end(smol):
    block = smol["prompt"]
    assert block["eos_token"] == "<|im_end|>" and "<|im_end|>" in block["stop"]
    assert "<|im_start|>" in block["template"]
    assert smol["answers"]["a"] != smol["answers"]["b"]  # the far-moved adapter really changes the answer


def test_v1_answers_a_simple_question_with_smollm2_through_the_openai_client(smol, server):
    ai = openai.OpenAI(base_url=server.base + "/v1", api_key=(server.data_dir / "agent-token").read_text(),
                       max_retries=0, timeout=300)
    answer = ai.chat.completions.create(model="smol", messages=QUESTION, max_tokens=MAX_TOKENS)
    text = answer.choices[0].message.content
    assert "Paris" in text and text == smol["answers"]["a"]
    assert "<|im_end|>" not in text and "<|im_start|>" not in text and "assistant" not in text
    assert answer.choices[0].finish_reason == "stop" and answer.usage.completion_tokens < MAX_TOKENS
    chunks = list(ai.chat.completions.create(model="smol", messages=QUESTION, max_tokens=MAX_TOKENS, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text


@pytest.mark.django_db
def test_the_hot_swap_serves_each_smollm2_version_with_its_own_adapter(smol, settings, alice,
                                                                       django_capture_on_commit_callbacks):
    from models_registry import services
    from models_registry.serving import chat, runtime
    from tests.models_registry.factories import make_line, make_version

    install_snapshot(Path(settings.DATA_DIR) / "models")
    line = make_line(name="smol", base_model=NAME)
    v1 = make_version(line, adapter_src=smol["adapters"]["a"])
    v2 = make_version(line, adapter_src=smol["adapters"]["b"])
    services.promote_version(v1, alice, "first")
    served, first = chat.complete("smol", QUESTION, max_tokens=MAX_TOKENS)
    assert served.label == "v1" and first.text == smol["answers"]["a"]
    with django_capture_on_commit_callbacks(execute=True):  # after commit: runtime.swap_to in this process
        services.promote_version(v2, alice, "second")
    assert runtime._current["smol"].label == "v2"
    served, second = chat.complete("smol", QUESTION, max_tokens=MAX_TOKENS)
    assert served.label == "v2" and second.text == smol["answers"]["b"]
    assert "<|im_end|>" not in second.text
