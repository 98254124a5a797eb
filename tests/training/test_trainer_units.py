"""Trainer pieces in process: snapshot formats, prompt masking, spec validation, batching."""

from __future__ import annotations

import json

import pytest

from tests.training.trainer_fixtures import ANSWER, records, toy_model, write_snapshot
from training.trainer.batching import collate, epoch_batches, pack
from training.trainer.data import load_dataset, to_alpaca
from training.trainer.errors import DatasetError, SpecError
from training.trainer.prompts import IGNORE_INDEX, Encoded, PromptFormat
from training.trainer.spec import parse_spec


@pytest.fixture(scope="module")
def chat_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(toy_model())


@pytest.fixture(scope="module")
def plain_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(toy_model(chat_template=False))


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "messages"])
def test_it_reads_every_snapshot_format_and_honours_the_split(tmp_path, fmt):
    dataset = load_dataset(write_snapshot(tmp_path, records(fmt, count=12, eval_every=4)))
    assert (len(dataset.train), len(dataset.eval)) == (9, 3)
    assert dataset.format == fmt
    last = dataset.train[0].messages[-1]
    assert last == {"role": "assistant", "content": ANSWER}
    assert any(m["role"] == "user" for m in dataset.train[0].messages)


def test_it_skips_unusable_records_and_ignores_unknown_keys(tmp_path):
    rows = records("messages", count=3, eval_every=99)
    rows[0]["extra"] = {"anything": 1}
    rows.append({"messages": [{"role": "user", "content": "no answer"}], "split": "train"})
    rows.append({"instruction": "x", "output": "y", "split": "test"})
    path = write_snapshot(tmp_path, rows)
    path.write_text(path.read_text() + "not json\n")
    dataset = load_dataset(path)
    assert len(dataset.train) == 3
    assert len(dataset.skipped) == 3 and any("split" in s for s in dataset.skipped)


def test_a_snapshot_with_no_usable_example_is_refused(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"hello": "world"}) + "\n")
    with pytest.raises(DatasetError, match="no usable training example"):
        load_dataset(path)


def test_a_hash_mismatch_is_refused(tmp_path):
    path = write_snapshot(tmp_path, records("alpaca", count=2))
    with pytest.raises(DatasetError, match="expected"):
        load_dataset(path, expected_sha256="0" * 64)


def test_chat_prompt_tokens_are_masked_and_the_response_ends_with_eos(chat_tokenizer):
    fmt = PromptFormat(chat_tokenizer, max_seq_length=128)
    messages = [{"role": "user", "content": "How do I list files?"}, {"role": "assistant", "content": ANSWER}]
    prompt, response = fmt.texts(messages)
    assert prompt.endswith("<|assistant|>\n") and response.startswith(ANSWER) and "</s>" in response
    encoded = fmt.encode(messages)
    prompt_len = len(chat_tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert encoded.labels[:prompt_len] == [IGNORE_INDEX] * prompt_len
    trained = [t for t in encoded.labels if t != IGNORE_INDEX]
    assert chat_tokenizer.decode(trained).startswith(ANSWER)
    assert chat_tokenizer.eos_token_id in trained


def test_alpaca_prompt_is_used_without_a_chat_template(plain_tokenizer):
    fmt = PromptFormat(plain_tokenizer, max_seq_length=256)
    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "List files"},
                {"role": "assistant", "content": "ls"}]
    prompt, response = fmt.texts(messages)
    assert fmt.style == "alpaca"
    assert "### Instruction:\nList files" in prompt and "System: Be terse." in prompt
    assert prompt.endswith("### Response:\n") and response == "ls</s>"
    encoded = fmt.encode(messages)
    assert [t for t in encoded.labels if t != IGNORE_INDEX][-1] == plain_tokenizer.eos_token_id


def test_long_examples_keep_part_of_their_response(chat_tokenizer):
    fmt = PromptFormat(chat_tokenizer, max_seq_length=16)
    encoded = fmt.encode([{"role": "user", "content": "word " * 50}, {"role": "assistant", "content": "ok " * 50}])
    assert len(encoded) == 16
    assert 0 < sum(t != IGNORE_INDEX for t in encoded.labels) <= 16


def test_to_alpaca_keeps_earlier_turns_as_input():
    fields = to_alpaca([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                        {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}])
    assert fields == {"instruction": "c", "input": "User: a\nAssistant: b", "output": "d"}


def test_spec_defaults_fill_in_and_ranges_are_enforced():
    spec = parse_spec({"base_model": "m", "dataset_path": "d.jsonl", "output_dir": "o"})
    assert spec.hyperparameters.lora_rank == 16 and spec.hyperparameters.packing is False
    with pytest.raises(SpecError) as err:
        parse_spec({"base_model": "m", "dataset_path": "d", "output_dir": "o", "device": "tpu",
                    "hyperparameters": {"batch_size": 2.5, "lora_dropout": 2, "target_modules": ["q proj"]}})
    details = " | ".join(err.value.details)
    for needle in ("device", "batch_size: must be an integer", "lora_dropout: 2.0 is out of range", "target_modules"):
        assert needle in details


def test_length_grouped_batches_cover_every_row_once_and_are_reproducible():
    rows = [Encoded(input_ids=[1] * n, labels=[1] * n) for n in [3, 50, 7, 48, 5, 49, 4, 51, 6, 47]]
    batches = epoch_batches(rows, batch_size=2, seed=1, epoch=0)
    assert sorted(i for b in batches for i in b) == list(range(10))
    assert batches == epoch_batches(rows, batch_size=2, seed=1, epoch=0)
    assert batches != epoch_batches(rows, batch_size=2, seed=1, epoch=1)
    assert len(rows[batches[0][0]]) == 51  # longest batch first
    waste = sum(max(len(rows[i]) for i in b) * len(b) - sum(len(rows[i]) for i in b) for b in batches)
    assert waste <= 50  # in the given order the same rows would waste 220 pad tokens


def test_packing_fills_rows_and_restarts_positions():
    rows = [Encoded(input_ids=[n] * n, labels=[IGNORE_INDEX] + [n] * (n - 1)) for n in (6, 5, 4, 3, 2)]
    packed = pack(rows, max_seq_length=10, seed=0)
    assert sum(len(row) for row, _ in packed) == 20 and all(len(row) <= 10 for row, _ in packed)
    assert len(packed) == 2
    for row, positions in packed:
        starts = [i for i, p in enumerate(positions) if p == 0]
        assert len(starts) >= 2 and all(row.labels[s] == IGNORE_INDEX for s in starts)
    batch = collate([row for row, _ in packed], pad_id=0, positions=[p for _, p in packed])
    assert batch["position_ids"].shape == batch["input_ids"].shape


def test_the_trainer_package_never_imports_django():
    import subprocess
    import sys

    modules = ["__main__", "run", "loop", "modeling", "checkpoints", "batching", "prompts", "data", "spec", "tiny_base"]
    code = "; ".join(f"import training.trainer.{m}" for m in modules)
    code += "; import sys; sys.exit(1 if any(n.split('.')[0] == 'django' for n in sys.modules) else 0)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


@pytest.mark.parametrize("exc", [MemoryError(), RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"),
                                 RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB")])
def test_allocation_failures_are_recognised_as_out_of_memory(exc):
    from training.trainer.errors import is_out_of_memory

    assert is_out_of_memory(exc)
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_a_template_without_a_system_role_gets_the_system_prompt_in_the_first_user_turn(chat_tokenizer):
    import copy

    tokenizer = copy.deepcopy(chat_tokenizer)
    tokenizer.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
        "{% endif %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
    )
    prompt, response = PromptFormat(tokenizer, 128).texts(
        [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"},
         {"role": "assistant", "content": "Hello."}])
    assert prompt == "<|user|>\nBe terse.\n\nHi</s>\n<|assistant|>\n"
    assert response == "Hello.</s>\n"


def test_half_written_folders_of_a_killed_run_are_removed(tmp_path):
    from training.trainer.checkpoints import remove_partial

    (tmp_path / "checkpoints" / ".step-8.tmp").mkdir(parents=True)
    (tmp_path / ".adapter.tmp").mkdir()
    (tmp_path / "checkpoints" / "step-4").mkdir()
    remove_partial(tmp_path)
    assert not (tmp_path / ".adapter.tmp").exists()
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-4"]
