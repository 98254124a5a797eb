"""Trainer throughput on CPU: our trainer vs a plain padded transformers+PEFT loop.

Both train the same LoRA (same hyperparameters, examples, epochs, optimiser, schedule and
tokenized data, prompt tokens masked) on the toy base model; only the batching differs:
the baseline pads random batches to their longest row, the trainer groups rows of similar
length (and, as an extra line, packs them). Tokens/s counts real (non-pad) tokens over
optimiser time. Final quality is compared as the token-weighted eval loss of each final
adapter on the same eval split. The trainer also runs as a real child process, which gives
the time from process start to its first metric line.

Usage: .venv/bin/python bench/trainer_throughput.py [--rounds 3] [--examples 256] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.trainer.batching import collate  # noqa: E402
from training.trainer.prompts import IGNORE_INDEX, PromptFormat  # noqa: E402
from training.trainer.tiny_base import build_tiny_base  # noqa: E402

HP = {"lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.0, "learning_rate": 2e-3, "batch_size": 8,
      "gradient_accumulation": 1, "max_seq_length": 256, "num_epochs": 2, "seed": 3, "eval_every_steps": 10_000,
      "logging_every_steps": 8, "early_stopping_patience": 0, "warmup_ratio": 0.03}
WORDS = ("the file list commit test fix run model data line code error value path build check read write "
         "apple green sweet monday paris water loss adapter lesson review train eval").split()


def synthetic_snapshot(folder: pathlib.Path, examples: int, eval_examples: int) -> pathlib.Path:
    """Lengths vary like real data: most answers short, some long."""
    rng = random.Random(0)
    lines = []
    for i in range(examples + eval_examples):
        question = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 24)))
        words = rng.randint(3, 20) if rng.random() < 0.7 else rng.randint(60, 160)
        answer = " ".join(WORDS[(i + k * 7) % len(WORDS)] for k in range(words))
        lines.append(json.dumps({"instruction": question, "input": "", "output": answer,
                                 "split": "eval" if i >= examples else "train",
                                 "source": {"kind": "lesson", "id": i, "ref": str(i)}}, sort_keys=True))
    path = folder / "snapshot.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_trainer(model_dir, dataset, out_dir, packing=False) -> dict:
    """Run `python -m training.trainer` as a child process; returns its done metrics and timings."""
    spec = {"base_model": str(model_dir), "dataset_path": str(dataset), "output_dir": str(out_dir),
            "device": "cpu", "hyperparameters": {**HP, "packing": packing}}
    spec_path = out_dir.with_suffix(".json")
    spec_path.write_text(json.dumps(spec))
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "training.trainer", "--spec", str(spec_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    first_metric, done = None, None
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "metric" and first_metric is None:
            first_metric = time.perf_counter() - started
        if event["event"] in ("done", "error"):
            done = event
    proc.wait()
    if done is None or done["event"] != "done":
        raise SystemExit(f"trainer failed: {done}")
    return {"tokens_per_s": done["metrics"]["tokens_per_s"], "first_metric_s": first_metric,
            "adapter": out_dir / "adapter", "steps": done["metrics"]["steps"]}


def our_trainer(model_dir, dataset, out_dir, packing=False) -> dict:
    """Our Trainer class in this process (same threads and conditions as the baseline)."""
    import contextlib
    import io

    from training.trainer import modeling
    from training.trainer.data import load_dataset
    from training.trainer.loop import Trainer
    from training.trainer.spec import parse_spec

    spec = parse_spec({"base_model": str(model_dir), "dataset_path": str(dataset), "output_dir": str(out_dir),
                       "device": "cpu", "hyperparameters": {**HP, "packing": packing}})
    data = load_dataset(dataset)
    loaded = modeling.load(spec)
    fmt = PromptFormat(loaded.tokenizer, HP["max_seq_length"])
    rows = [fmt.encode(e.messages) for e in data.train]
    trainer = Trainer(spec, loaded, rows, [], data.sha256)
    with contextlib.redirect_stdout(io.StringIO()):  # protocol lines are not the bench's output
        trainer.run()
    return {"tokens_per_s": trainer.tokens_seen / trainer.train_seconds, "model": loaded.model}


def plain_padded_loop(model_dir, rows, pad_id) -> dict:
    """The baseline: random batches padded to their longest row, loss from the model's labels."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(HP["seed"])
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir), LoraConfig(
        r=HP["lora_rank"], lora_alpha=HP["lora_alpha"], lora_dropout=HP["lora_dropout"],
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM"))
    return {**train_padded(model, rows, pad_id, HP), "model": model}



def train_padded(model, rows, pad_id, hp: dict) -> dict:
    """The plain loop: shuffled padded batches, AdamW with linear warm-up; {"tokens_per_s", "steps"}."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=hp["learning_rate"], weight_decay=0.0)
    steps = hp["num_epochs"] * -(-len(rows) // hp["batch_size"])
    scheduler = get_linear_schedule_with_warmup(optimizer, int(steps * hp["warmup_ratio"]), steps)
    rng = random.Random(hp["seed"])
    model.train()
    tokens, seconds = 0, 0.0
    for _ in range(hp["num_epochs"]):
        order = list(range(len(rows)))
        rng.shuffle(order)
        for start in range(0, len(order), hp["batch_size"]):
            batch = collate([rows[i] for i in order[start : start + hp["batch_size"]]], pad_id)
            began = time.perf_counter()
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            seconds += time.perf_counter() - began
            tokens += int(batch["attention_mask"].sum())
    return {"tokens_per_s": tokens / seconds, "steps": steps}

def eval_loss(model, rows, pad_id) -> float:
    """Token-weighted loss on the response tokens of the eval rows."""
    import torch
    import torch.nn.functional as F

    model.eval()
    total = count = 0.0
    with torch.no_grad():
        for start in range(0, len(rows), 8):
            batch = collate(rows[start : start + 8], pad_id)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
            labels = batch["labels"][:, 1:]
            total += float(F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1),
                                           ignore_index=IGNORE_INDEX, reduction="sum"))
            count += int((labels != IGNORE_INDEX).sum())
    return total / count


def main() -> None:
    from training.trainer.data import load_dataset

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the in-process runs")
    parser.add_argument("--examples", type=int, default=256)
    args = parser.parse_args()
    import torch
    from transformers import AutoTokenizer

    # One thread: on a shared 2-core machine, OpenMP threads that wait on each other make
    # timings swing several-fold; a single thread is slower but comparable across variants.
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as tmp:
        tmp = pathlib.Path(tmp)
        model_dir = build_tiny_base(tmp / "tiny-llama-toy")
        dataset = synthetic_snapshot(tmp, args.examples, 32)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        fmt = PromptFormat(tokenizer, HP["max_seq_length"])
        data = load_dataset(dataset)
        train = [fmt.encode(e.messages) for e in data.train]
        evals = [fmt.encode(e.messages) for e in data.eval]
        lengths = [len(r) for r in train]
        print(f"# {len(train)} train rows, lengths {min(lengths)}..{max(lengths)} "
              f"(mean {statistics.mean(lengths):.0f}), {HP['num_epochs']} epochs, batch {HP['batch_size']}, "
              f"torch threads {torch.get_num_threads()}")
        results = {"baseline": [], "grouped": [], "packed": []}
        for round_ in range(args.rounds):
            # Interleaved rounds, so a burst of load from other work hits every variant alike.
            base = plain_padded_loop(model_dir, train, tokenizer.pad_token_id)
            ours = our_trainer(model_dir, dataset, tmp / f"run-{round_}")
            packed = our_trainer(model_dir, dataset, tmp / f"packed-{round_}", packing=True)
            results["baseline"].append(base["tokens_per_s"])
            results["grouped"].append(ours["tokens_per_s"])
            results["packed"].append(packed["tokens_per_s"])
            print(f"round {round_ + 1}: baseline {base['tokens_per_s']:.0f} tok/s, grouped {ours['tokens_per_s']:.0f}, "
                  f"packed {packed['tokens_per_s']:.0f}", flush=True)
        base_loss = eval_loss(base["model"], evals, tokenizer.pad_token_id)
        ours_loss = eval_loss(ours["model"], evals, tokenizer.pad_token_id)
        packed_loss = eval_loss(packed["model"], evals, tokenizer.pad_token_id)
        child = run_trainer(model_dir, dataset, tmp / "child")
    median = {k: statistics.median(v) for k, v in results.items()}
    # Per-round ratios cancel slow drifts in machine load better than a ratio of medians.
    ratio = {k: statistics.median(a / b for a, b in zip(results[k], results["baseline"], strict=True))
             for k in ("grouped", "packed")}
    print(f"baseline (random padded batches): {median['baseline']:.0f} tokens/s, final eval loss {base_loss:.4f}")
    print(f"trainer, length-grouped:          {median['grouped']:.0f} tokens/s, final eval loss {ours_loss:.4f}"
          f"  ratio {ratio['grouped']:.2f}x, loss diff "
          f"{100 * (ours_loss - base_loss) / base_loss:+.2f}%")
    print(f"trainer, packed:                  {median['packed']:.0f} tokens/s, final eval loss {packed_loss:.4f}"
          f"  ratio {ratio['packed']:.2f}x, loss diff "
          f"{100 * (packed_loss - base_loss) / base_loss:+.2f}%")
    print(f"child process: start -> first metric line {child['first_metric_s']:.2f} s, "
          f"{child['tokens_per_s']:.0f} tokens/s with default threads")


if __name__ == "__main__":
    main()
