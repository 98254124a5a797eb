"""The real trainer on the toy base model, run as `python -m training.trainer` in a child process."""

from __future__ import annotations

import json

import pytest

from tests.training.trainer_fixtures import of_kind, records, run_trainer, toy_model, write_snapshot, write_spec

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def chat_run(tmp_path_factory):
    """One chat-template run on a `messages` snapshot, shared by the assertions below."""
    folder = tmp_path_factory.mktemp("chat-run")
    dataset = write_snapshot(folder, records("messages"))
    spec = write_spec(folder, toy_model(), dataset, folder / "run", max_steps=12, eval_every_steps=4)
    code, events, stderr = run_trainer(spec)
    return {"code": code, "events": events, "stderr": stderr, "run": folder / "run", "dataset": dataset}


def test_it_reports_every_protocol_event_in_order(chat_run):
    assert chat_run["code"] == 0, chat_run["stderr"][-2000:]
    kinds = [e["event"] for e in chat_run["events"]]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert {"metric", "eval", "checkpoint"} <= set(kinds)
    start = chat_run["events"][0]
    assert start["total_steps"] == 12 and start["backend"] == "peft" and start["device"] == "cpu"
    assert [m["step"] for m in of_kind(chat_run["events"], "metric")] == [1, 2, 4, 6, 8, 10, 12]
    metric = of_kind(chat_run["events"], "metric")[0]
    assert set(metric) == {"event", "step", "epoch", "loss", "lr", "tokens_per_s", "ts"}
    assert [c["path"] for c in of_kind(chat_run["events"], "checkpoint")] == [
        "checkpoints/step-4", "checkpoints/step-8", "checkpoints/step-12"]
    done = chat_run["events"][-1]
    assert done["adapter_dir"] == "adapter"
    assert done["metrics"]["eval_loss"] == min(e["eval_loss"] for e in of_kind(chat_run["events"], "eval"))


def test_loss_decreases(chat_run):
    losses = [m["loss"] for m in of_kind(chat_run["events"], "metric")]
    evals = [e["eval_loss"] for e in of_kind(chat_run["events"], "eval")]
    assert losses[-1] < losses[0]
    assert evals[-1] < evals[0]


def test_adapter_loads_back_with_peft_and_changes_outputs(chat_run):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = chat_run["run"] / "adapter"
    assert (adapter / "adapter_config.json").exists() and (adapter / "adapter_model.safetensors").exists()
    tokenizer = AutoTokenizer.from_pretrained(adapter)
    ids = tokenizer("<|user|>\nHow do I list files?</s>\n<|assistant|>\n", return_tensors="pt")["input_ids"]
    base = AutoModelForCausalLM.from_pretrained(toy_model())
    with torch.no_grad():
        before = base(ids).logits
        tuned = PeftModel.from_pretrained(base, adapter)
        after = tuned(ids).logits
    assert not torch.allclose(before, after, atol=1e-4)


def test_metadata_records_the_prompt_template_and_provenance(chat_run):
    meta = json.loads((chat_run["run"] / "adapter" / "academy_adapter.json").read_text())
    assert meta["format_version"] == 1
    assert meta["base_model"] == str(toy_model())
    assert meta["dataset_sha256"] == __import__("hashlib").sha256(chat_run["dataset"].read_bytes()).hexdigest()
    assert meta["prompt"]["style"] == "chat_template"
    assert "<|assistant|>" in meta["prompt"]["template"]
    assert meta["prompt"]["eos_token"] == "</s>" and "</s>" in meta["prompt"]["stop"]
    assert meta["hyperparameters"]["lora_rank"] == 8
    assert meta["trainer"]["backend"] == "peft" and "torch" in meta["trainer"]["versions"]
    assert meta["metrics"]["train_loss"] is not None


def test_the_run_folder_keeps_the_spec(chat_run):
    assert json.loads((chat_run["run"] / "spec.json").read_text())["hyperparameters"]["max_steps"] == 12


def test_it_uses_the_alpaca_template_when_the_base_has_no_chat_template(tmp_path):
    dataset = write_snapshot(tmp_path, records("sharegpt", count=8, eval_every=4))
    spec = write_spec(tmp_path, toy_model(chat_template=False), dataset, tmp_path / "run", max_steps=2,
                      eval_every_steps=2, packing=True)
    code, events, stderr = run_trainer(spec)
    assert code == 0, stderr[-2000:]
    assert events[0]["prompt_style"] == "alpaca" and events[0]["packing"] is True
    meta = json.loads((tmp_path / "run" / "adapter" / "academy_adapter.json").read_text())
    assert meta["prompt"]["style"] == "alpaca"
    assert "{instruction}" in meta["prompt"]["template"] and "{output}" in meta["prompt"]["template"]


def test_it_resumes_from_the_last_checkpoint(tmp_path):
    dataset = write_snapshot(tmp_path, records("alpaca"))
    first = write_spec(tmp_path, toy_model(), dataset, tmp_path / "run", max_steps=4, eval_every_steps=2)
    code, events, _ = run_trainer(first)
    assert code == 0 and of_kind(events, "checkpoint")[-1]["step"] == 4

    second = write_spec(tmp_path, toy_model(), dataset, tmp_path / "run", max_steps=6, eval_every_steps=2)
    code, events, stderr = run_trainer(second)
    assert code == 0, stderr[-2000:]
    assert events[0]["resumed_from_step"] == 4
    assert [m["step"] for m in of_kind(events, "metric")] == [6]
    assert events[-1]["metrics"]["steps"] == 6


def test_a_missing_model_is_an_error_event_not_a_crash(tmp_path):
    dataset = write_snapshot(tmp_path, records("alpaca", count=4))
    spec = write_spec(tmp_path, tmp_path / "no-such-model", dataset, tmp_path / "run")
    code, events, _ = run_trainer(spec)
    assert code != 0
    assert events[-1]["event"] == "error" and events[-1]["kind"] == "model_not_found"
    assert "no-such-model" in events[-1]["message"]
    assert not (tmp_path / "run" / "adapter").exists()


def test_an_unknown_hub_id_offline_is_model_not_found(tmp_path):
    dataset = write_snapshot(tmp_path, records("alpaca", count=4))
    spec = write_spec(tmp_path, "academy-tests/surely-not-cached", dataset, tmp_path / "run")
    code, events, _ = run_trainer(spec, env={"HF_HUB_OFFLINE": "1"})
    assert code != 0 and events[-1]["kind"] == "model_not_found"
    assert "HF_HUB_OFFLINE" in events[-1]["message"]


def test_a_bad_spec_is_an_error_event_naming_the_fields(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"base_model": "x", "hyperparameters": {"lora_rank": 0, "learning_rat": 1}}))
    code, events, _ = run_trainer(spec)
    assert code != 0 and [e["event"] for e in events] == ["error"]
    error = events[0]
    assert error["kind"] == "spec"
    assert "hyperparameters.lora_rank: 0 is out of range" in error["message"]
    assert any("learning_rat: unknown" in d for d in error["details"])
    assert any(d.startswith("dataset_path") for d in error["details"])


def test_a_missing_dataset_is_a_dataset_error(tmp_path):
    spec = write_spec(tmp_path, toy_model(), tmp_path / "missing.jsonl", tmp_path / "run")
    code, events, _ = run_trainer(spec)
    assert code != 0 and events[-1]["kind"] == "dataset" and "missing.jsonl" in events[-1]["message"]


def test_it_stops_early_when_eval_loss_stops_improving(tmp_path, capsys):
    from training.trainer.run import execute
    from training.trainer.spec import load_spec

    dataset = write_snapshot(tmp_path, records("messages", count=12, eval_every=4))
    # A learning rate this small moves the loss by less than float32 resolves: no eval improves.
    spec = load_spec(write_spec(tmp_path, toy_model(), dataset, tmp_path / "run", learning_rate=1e-8,
                                eval_every_steps=1, early_stopping_patience=2, max_steps=10))
    metrics = execute(spec)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    evals = of_kind(events, "eval")
    assert metrics["stopped_early"] is True and metrics["steps"] < 10
    assert [e["step"] for e in evals] == list(range(1, metrics["steps"] + 1))
    best = min(e["eval_loss"] for e in evals)
    assert all(e["eval_loss"] >= best for e in evals[-2:])  # patience 2: the last two did not improve
    assert metrics["best_step"] == next(e["step"] for e in evals if e["eval_loss"] == best)
    assert of_kind(events, "checkpoint")[-1]["step"] == metrics["steps"]


def test_no_improvement_at_the_last_planned_step_is_the_plans_end_not_an_early_stop(tmp_path, capsys):
    from training.trainer.run import execute
    from training.trainer.spec import load_spec

    dataset = write_snapshot(tmp_path, records("messages", count=12, eval_every=4))
    spec = load_spec(write_spec(tmp_path, toy_model(), dataset, tmp_path / "run", learning_rate=1e-8,
                                eval_every_steps=1, early_stopping_patience=2, max_steps=3))
    metrics = execute(spec)
    printed = capsys.readouterr()
    assert metrics["steps"] == 3 and metrics["stopped_early"] is False
    assert "stopping early" not in printed.err
