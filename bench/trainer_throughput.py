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

import pathlib
import statistics
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import trainer_compare as compare  # noqa: E402
from training.trainer.tiny_base import build_tiny_base  # noqa: E402

HP = {"lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.0, "learning_rate": 2e-3, "batch_size": 8,
      "gradient_accumulation": 1, "max_seq_length": 256, "num_epochs": 2, "seed": 3, "eval_every_steps": 10_000,
      "logging_every_steps": 8, "early_stopping_patience": 0, "warmup_ratio": 0.03}


def main() -> None:
    args = compare.command_line(rounds=3, examples=256)
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as tmp:
        tmp = pathlib.Path(tmp)
        model_dir = build_tiny_base(tmp / "tiny-llama-toy")
        dataset = compare.synthetic_snapshot(tmp, args.examples, 32)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        train, evals = compare.encoded_rows(tokenizer, dataset, HP["max_seq_length"])
        print(f"# {compare.rows_summary(train)}, {HP['num_epochs']} epochs, batch {HP['batch_size']}, "
              f"torch threads {args.threads}")
        results = {"baseline": [], "grouped": [], "packed": []}
        for round_ in range(args.rounds):
            # Interleaved rounds, so a burst of load from other work hits every variant alike.
            base = compare.padded_baseline(model_dir, train, tokenizer.pad_token_id, HP)
            ours = compare.our_trainer(model_dir, dataset, tmp / f"run-{round_}", {**HP, "packing": False})
            packed = compare.our_trainer(model_dir, dataset, tmp / f"packed-{round_}", {**HP, "packing": True})
            results["baseline"].append(base["tokens_per_s"])
            results["grouped"].append(ours["tokens_per_s"])
            results["packed"].append(packed["tokens_per_s"])
            print(f"round {round_ + 1}: baseline {base['tokens_per_s']:.0f} tok/s, grouped {ours['tokens_per_s']:.0f}, "
                  f"packed {packed['tokens_per_s']:.0f}", flush=True)
        base_loss = compare.eval_loss(base["model"], evals, tokenizer.pad_token_id)
        ours_loss = compare.eval_loss(ours["model"], evals, tokenizer.pad_token_id)
        packed_loss = compare.eval_loss(packed["model"], evals, tokenizer.pad_token_id)
        child = compare.run_child(model_dir, dataset, tmp / "child", {**HP, "packing": False})
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
    print(f"child process: start -> first metric line {child['metric_s'][0]:.2f} s, "
          f"{child['metrics']['tokens_per_s']:.0f} tokens/s with default threads")


if __name__ == "__main__":
    main()
