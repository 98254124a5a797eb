"""What the trainer benchmarks share: our trainer against a plain padded transformers+PEFT loop.

bench/trainer_throughput.py runs the comparison on the toy base model, bench/trainer_smollm2.py
on SmolLM2-135M-Instruct. Both sides train the same LoRA on the same tokenized rows (prompt
tokens masked) with the same optimiser and schedule; only the batching differs. Tokens/s
counts real (non-pad) tokens over optimiser time; quality is the token-weighted eval loss of
each final adapter. The trainer also runs as a real child process (`run_child`).

Import this after putting the repository root on sys.path, as the bench scripts do.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import statistics
import subprocess
import sys
import time

from training.trainer.batching import collate
from training.trainer.prompts import IGNORE_INDEX, PromptFormat

ROOT = pathlib.Path(__file__).resolve().parents[1]
ATTENTION_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj"]  # the trainer's default target modules
WORDS = ("the file list commit test fix run model data line code error value path build check read write "
         "apple green sweet monday paris water loss adapter lesson review train eval").split()


def command_line(*, rounds: int, examples: int) -> argparse.Namespace:
    """The benchmarks' options (--rounds, --threads, --examples), torch's threads set to --threads.

    One thread by default: on a shared 2-core machine, OpenMP threads that wait on each other make
    timings swing several-fold; a single thread is slower but comparable across variants.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the in-process runs")
    parser.add_argument("--examples", type=int, default=examples)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    return args


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


def encoded_rows(tokenizer, dataset: pathlib.Path, max_seq_length: int) -> tuple[list, list]:
    """The snapshot's train and eval examples tokenized as the trainer does: (train rows, eval rows)."""
    from training.trainer.data import load_dataset

    fmt = PromptFormat(tokenizer, max_seq_length)
    data = load_dataset(dataset)
    return [fmt.encode(e.messages) for e in data.train], [fmt.encode(e.messages) for e in data.eval]


def rows_summary(rows: list) -> str:
    """How many rows and how long: "N train rows, lengths MIN..MAX (mean M)"."""
    lengths = [len(r) for r in rows]
    return f"{len(rows)} train rows, lengths {min(lengths)}..{max(lengths)} (mean {statistics.mean(lengths):.0f})"


def our_trainer(model_dir, dataset, out_dir, hp: dict) -> dict:
    """Our Trainer class in this process (same threads and conditions as the baseline)."""
    import contextlib
    import io

    from training.trainer import modeling
    from training.trainer.data import load_dataset
    from training.trainer.loop import Trainer
    from training.trainer.spec import parse_spec

    spec = parse_spec({"base_model": str(model_dir), "dataset_path": str(dataset), "output_dir": str(out_dir),
                       "device": "cpu", "hyperparameters": hp})
    data = load_dataset(dataset)
    loaded = modeling.load(spec)
    fmt = PromptFormat(loaded.tokenizer, hp["max_seq_length"])
    rows = [fmt.encode(e.messages) for e in data.train]
    trainer = Trainer(spec, loaded, rows, [], data.sha256)
    with contextlib.redirect_stdout(io.StringIO()):  # protocol lines are not the bench's output
        trainer.run()
    return {"tokens_per_s": trainer.tokens_seen / trainer.train_seconds, "model": loaded.model,
            "steps": trainer.total_steps}


def padded_baseline(model_dir, rows, pad_id, hp: dict) -> dict:
    """The baseline: random batches padded to their longest row, loss from the model's labels, same schedule."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(hp["seed"])
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), LoraConfig(
        r=hp["lora_rank"], lora_alpha=hp["lora_alpha"], lora_dropout=hp["lora_dropout"],
        target_modules=ATTENTION_MODULES, task_type="CAUSAL_LM"))
    return {**train_padded(model, rows, pad_id, hp), "model": model}


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


def run_child(model_dir, dataset, out_dir: pathlib.Path, hp: dict, *, threads: int | None = None) -> dict:
    """Run `python -m training.trainer` as a child process, offline.

    Returns {"wall_s": from process start to its exit, "metric_s": when each metric line came,
    from process start, "metrics": those of its done line}. With `threads`, OMP_NUM_THREADS for
    the child; else torch's default (one per core).
    """
    spec = {"base_model": str(model_dir), "dataset_path": str(dataset), "output_dir": str(out_dir),
            "device": "cpu", "hyperparameters": hp}
    spec_path = out_dir.with_suffix(".json")
    spec_path.write_text(json.dumps(spec))
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "training.trainer", "--spec", str(spec_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    metric_s, done = [], None
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "metric":
            metric_s.append(time.perf_counter() - started)
        if event["event"] in ("done", "error"):
            done = event
    proc.wait()
    if done is None or done["event"] != "done":
        raise SystemExit(f"trainer failed: {done}")
    return {"wall_s": time.perf_counter() - started, "metric_s": metric_s, "metrics": done["metrics"]}
