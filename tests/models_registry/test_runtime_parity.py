"""llama.cpp runs the runtime export as Academy serves it: SmolLM2 with a LoRA adapter, greedy, 20 exam prompts.

The adapter is a real PEFT LoRA on SmolLM2-135M-Instruct (seeded non-zero weights on every
projection, q and k included, large enough to change most greedy answers), registered and
promoted as a version. Academy's answers come from /v1/chat/completions; the runtime's from
llama.cpp (llama-cpp-python) loading the export's base.gguf with --lora adapter.gguf, each
prompt rendered by Go's text/template (Ollama's engine) with the export's Modelfile TEMPLATE
and tokenized by llama.cpp as Ollama tokenizes. The prompt token ids must be the very ids
Academy fed its model; the first 32 answer tokens must agree on at least 18 of 20 prompts
with the F32 base. The original Q4_1 base computes with quantized weights: its agreement is
printed, not held to a threshold.
"""

import ctypes
import json
import os
import re
from pathlib import Path

import pytest

from models_registry import services
from models_registry.runtime_export import ADAPTER_FILE, BASE_FILE, MODELFILE, export_runtime
from models_registry.serving.engine import Engine
from tests.factories import bearer, make_token
from tests.models_registry.factories import make_line, make_version
from tests.real_model import NAME, cached_snapshot, install_snapshot

pytestmark = pytest.mark.mode_independent

pytest.importorskip("peft", reason="serving needs the train extra (torch, transformers, peft)")

MAX_TOKENS = 32
EXAM = Path(__file__).resolve().parents[2] / "arena" / "exams" / "default_coding.jsonl"
MORE_PROMPTS = [
    "Write a Python function flatten(lists) that joins a list of lists into one list.",
    "Which shell command shows the last 20 lines of server.log?",
    "How do I see which files changed in my last git commit?",
    "Write a Python function is_prime(n) for positive integers.",
    "Explain in one sentence what a Python list comprehension is.",
    "Which SQL statement removes every row of the table sessions but keeps the table?",
    "How do I make a shell script executable?",
]


def llama_cpp_module():
    try:
        import llama_cpp
    except ImportError as exc:
        reason = f"llama.cpp's Python binding (pip install llama-cpp-python) is not importable: {exc}"
        if os.environ.get("ACADEMY_REQUIRE_REAL_MODEL") == "1":
            pytest.fail(reason + " and ACADEMY_REQUIRE_REAL_MODEL=1")
        pytest.skip(reason)
    return llama_cpp


def exam_conversations() -> list[list[dict]]:
    items = [json.loads(line)["prompt"] for line in EXAM.read_text().splitlines() if line.strip()]
    prompts = (items + MORE_PROMPTS)[:20]
    assert len(prompts) == 20
    return [p if isinstance(p, list) else [{"role": "user", "content": p}] for p in prompts]


@pytest.fixture(scope="module")
def smol_adapter(tmp_path_factory):
    """A PEFT LoRA on SmolLM2 with seeded random A and B on all seven projections, saved as the trainer saves.

    At full strength its answers degenerate into repetitions where the top two tokens nearly
    tie, and float32 rounding in torch and llama.cpp picks differently (14 of 20 agreed).
    """
    llama_cpp_module()
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.trainer.prompts import PromptFormat

    base = str(cached_snapshot())
    torch.manual_seed(7)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    peft = get_peft_model(model, LoraConfig(
        r=8, lora_alpha=16, init_lora_weights=False, task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    with torch.no_grad():  # B at 0.3x: greedy answers change (18 of 20) yet stay far from ties
        for name, weight in peft.named_parameters():
            if "lora_B" in name:
                weight.mul_(0.3)
    folder = tmp_path_factory.mktemp("smol-runtime") / "adapter"
    peft.save_pretrained(folder)
    (folder / "academy_adapter.json").write_text(json.dumps({
        "format_version": 1, "base_model": NAME, "base_architecture": "LlamaForCausalLM", "dataset_sha256": "",
        "hyperparameters": {"seed": 7}, "metrics": {},
        "prompt": PromptFormat(AutoTokenizer.from_pretrained(base), 512).metadata(),
        "trainer": {"backend": "peft", "versions": {}}}))
    return folder


def modelfile_template(text: str) -> tuple[str, list[str]]:
    template = re.search(r'^TEMPLATE """(.*?)"""$', text, re.S | re.M).group(1)
    stops = [json.loads(s) for s in re.findall(r"^PARAMETER stop (.+)$", text, re.M)]
    return template, stops


def academy_answers(client, token, conversations, monkeypatch) -> tuple[list[str], list[list[int]]]:
    fed = []
    encode = Engine.encode

    def recording_encode(self, text, **kwargs):
        fed.append(encode(self, text, **kwargs))
        return fed[-1]

    monkeypatch.setattr(Engine, "encode", recording_encode)
    answers = []
    for messages in conversations:
        response = client.post("/v1/chat/completions", {"model": "smol", "messages": messages, "max_tokens": MAX_TOKENS,
                                                        "temperature": 0}, content_type="application/json", **token)
        assert response.status_code == 200, response.content
        answers.append(response.json()["choices"][0]["message"]["content"])
    assert len(fed) == len(conversations)
    return answers, fed


def llama_answers(llama_cpp, folder: Path, prompts: list[str]) -> tuple[list[str], list[list[int]], object]:
    # One thread: llama.cpp's threads wait for each other at every step, and on a shared, loaded
    # machine two threads were measured 18x slower than one.
    llm = llama_cpp.Llama(model_path=str(folder / BASE_FILE), lora_path=str(folder / ADAPTER_FILE), n_ctx=512,
                          seed=0, verbose=False, n_threads=1, n_threads_batch=1)
    return [*decode_all(llm, prompts), llm]


def decode_all(llm, prompts: list[str]) -> tuple[list[str], list[list[int]]]:
    import llama_cpp

    vocab = llm._model.vocab  # noqa: SLF001 - the end-of-generation test needs the vocabulary
    answers, fed = [], []
    for text in prompts:
        ids = llm.tokenize(text.encode(), add_bos=True, special=True)  # BOS only where the GGUF says so, as Ollama
        fed.append(ids)
        llm.reset()  # every prompt from an empty cache, as a fresh request
        out = []
        for token in llm.generate(ids, top_k=1, temp=0.0, reset=True):
            if llama_cpp.llama_vocab_is_eog(vocab, token) or len(out) == MAX_TOKENS:
                break
            out.append(token)
        answers.append(llm.detokenize(out).decode("utf-8", "replace"))
    return answers, fed


def set_lora_scale(llama_cpp, llm, scale: float) -> None:
    adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(llm._lora_adapter)  # noqa: SLF001
    assert llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, adapters, 1, (ctypes.c_float * 1)(scale)) == 0  # noqa: SLF001


def agreement(a: list[str], b: list[str]) -> int:
    return sum(x == y for x, y in zip(a, b, strict=True))


@pytest.mark.timeout(1500)
def test_llama_cpp_runs_the_exported_adapter_as_academy_serves_it(
        client, db, alice, viewer, settings, tmp_path, smol_adapter, go_renderer, monkeypatch):
    llama_cpp = llama_cpp_module()
    install_snapshot(Path(settings.DATA_DIR) / "models")
    line = make_line(name="smol", base_model=NAME)
    version = make_version(line, adapter_src=smol_adapter)
    services.promote_version(version, alice, "runtime parity")
    conversations = exam_conversations()
    academy, academy_ids = academy_answers(client, bearer(make_token(viewer, "Viewer")), conversations, monkeypatch)

    export_runtime(version, tmp_path / "f32", base_precision="f32")
    export_runtime(version, tmp_path / "q4_1")
    modelfile = (tmp_path / "f32" / MODELFILE).read_text()
    assert modelfile == (tmp_path / "q4_1" / MODELFILE).read_text()
    template, stops = modelfile_template(modelfile)
    assert stops == ["<|im_end|>"]
    prompts = [go_renderer.render(template, messages) for messages in conversations]

    f32, f32_ids, llm = llama_answers(llama_cpp, tmp_path / "f32", prompts)
    assert f32_ids == academy_ids  # the Modelfile's TEMPLATE + llama.cpp's tokenizer = what Academy fed its model
    set_lora_scale(llama_cpp, llm, 0.0)
    without_adapter = decode_all(llm, prompts)[0]
    llm.close()
    q4_1 = llama_answers(llama_cpp, tmp_path / "q4_1", prompts)[0]

    f32_agree, q4_1_agree = agreement(f32, academy), agreement(q4_1, academy)
    changed = 20 - agreement(without_adapter, academy)
    print(f"\nruntime parity over 20 exam prompts, first {MAX_TOKENS} tokens, greedy: "
          f"F32 base {f32_agree}/20, Q4_1 base {q4_1_agree}/20; the adapter changes {changed}/20 answers")
    for i, (ours, theirs) in enumerate(zip(academy, q4_1, strict=True)):
        if ours != theirs:
            print(f"  Q4_1 differs on prompt {i + 1}: academy {ours[:60]!r} llama.cpp {theirs[:60]!r}")
    assert changed >= 10, "the adapter must change most greedy answers, or agreement proves nothing"
    assert f32_agree >= 18, [(a, b) for a, b in zip(academy, f32, strict=True) if a != b]
    assert q4_1_agree >= 1
