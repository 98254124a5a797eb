"""Toy base models and snapshot files for trainer tests, built once per test process.

Plain functions with a process-wide cache (not fixtures), so several test modules share
one build of the toy model instead of one per module.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from training.trainer.tiny_base import build_tiny_base

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

QUESTIONS = ["How do I list files?", "List the files here.", "Show me the files.", "Which command lists a folder?"]
ANSWER = "Use ls to list the files."


@functools.cache
def _scratch() -> pathlib.Path:
    path = pathlib.Path(tempfile.mkdtemp(prefix="academy-toy-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def toy_model(chat_template: bool = True) -> pathlib.Path:
    """The toy base model (with or without a chat template), built once."""
    name = "tiny-llama-toy" if chat_template else "tiny-llama-toy-plain"
    return build_tiny_base(_scratch() / name, chat_template=chat_template)


def records(fmt: str, count: int = 24, eval_every: int = 6) -> list[dict]:
    """A learnable snapshot: varied questions, one constant answer; every eval_every-th is eval."""
    rows = []
    for i in range(count):
        question = f"{QUESTIONS[i % len(QUESTIONS)]} #{i}"
        if fmt == "alpaca":
            body = {"instruction": question, "input": "in the repo" if i % 2 else "", "output": ANSWER}
        elif fmt == "sharegpt":
            body = {"conversations": [{"from": "system", "value": "Be terse."}, {"from": "human", "value": question},
                                      {"from": "gpt", "value": ANSWER}]}
        else:
            body = {"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": question},
                                 {"role": "assistant", "content": ANSWER}]}
        split = "eval" if i % eval_every == eval_every - 1 else "train"
        rows.append({**body, "split": split, "source": {"kind": "lesson", "id": i, "ref": f"L{i}"}})
    return rows


def write_snapshot(folder: pathlib.Path, rows: list[dict]) -> pathlib.Path:
    path = folder / "snapshot.jsonl"
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return path


def write_spec(folder: pathlib.Path, base_model, dataset, output_dir, **hyperparameters) -> pathlib.Path:
    """A small, fast spec; hyperparameters override the defaults below."""
    hp = {"lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.0, "learning_rate": 0.02, "batch_size": 4,
          "max_seq_length": 64, "eval_every_steps": 4, "logging_every_steps": 2, "max_steps": 8, "num_epochs": 3,
          "seed": 7, "early_stopping_patience": 0}
    hp.update(hyperparameters)
    spec = {"base_model": str(base_model), "dataset_path": str(dataset), "output_dir": str(output_dir),
            "device": "cpu", "hyperparameters": hp}
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def run_trainer(spec_path: pathlib.Path, env: dict | None = None) -> tuple[int, list[dict], str]:
    """Run `python -m training.trainer --spec` as a child process: (exit code, events, stderr)."""
    child_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "training.trainer", "--spec", str(spec_path)],
        cwd=REPO_ROOT, env=child_env, capture_output=True, text=True, timeout=300,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, events, proc.stderr


def of_kind(events: list[dict], name: str) -> list[dict]:
    return [e for e in events if e["event"] == name]
