"""Start-form presets, one-line field explanations and the estimate of steps and time before a run starts."""

import math

from training.models import JobStatus, TrainingRun

PRESETS = {
    "quick": {"label": "Quick try",
              "explain": "One short epoch at a low rank and short sequences: minutes on a CPU, to see the loop work.",
              "values": {"num_epochs": 1, "lora_rank": 8, "lora_alpha": 16, "max_seq_length": 256,
                         "eval_every_steps": 10}},
    "standard": {"label": "Standard",
                 "explain": "The deployment's defaults: a few epochs at a moderate rank; a good first real adapter.",
                 "values": {}},
    "thorough": {"label": "Thorough",
                 "explain": "More epochs at a higher rank with a lower learning rate: slower, for an adapter to keep.",
                 "values": {"num_epochs": 5, "lora_rank": 32, "lora_alpha": 64, "learning_rate": 0.0001}},
}

FIELD_HELP = {
    "dataset": "The immutable snapshot to learn from; its train split is used, its eval split measures progress.",
    "model_line": "The family this adapter joins, e.g. venom-coder: its versions share a base model and are "
                  "promoted and rolled back together. Empty: the default line.",
    "lora_rank": "Size of the adapter's low-rank matrices: higher learns more and costs more memory.",
    "lora_alpha": "Scale of the adapter's update; usually twice the rank.",
    "lora_dropout": "Fraction of adapter activations dropped while training, against overfitting.",
    "target_modules": "Which layers get an adapter; the attention projections are the usual choice.",
    "learning_rate": "Step size of each update: too high diverges, too low learns slowly (2e-4 is typical for LoRA).",
    "num_epochs": "Passes over the training split.",
    "batch_size": "Examples per step; limited by memory.",
    "gradient_accumulation": "Steps whose gradients are added before one update: a larger effective batch "
                             "without more memory.",
    "max_seq_length": "Longest example in tokens; longer ones are cut. Capped at the base model's context.",
    "seed": "Makes the run repeatable.",
    "packing": "Joins short examples into full-length sequences: faster on many short examples.",
    "eval_every_steps": "How often the eval loss is measured and drawn.",
}


def preset_values(key: str, defaults: dict) -> dict:
    """The defaults overlaid with the preset's values (unknown key: the defaults)."""
    return {**defaults, **PRESETS.get(key, {"values": {}})["values"]}


def estimate_steps(train_rows: int, hyperparameters: dict) -> int:
    per_step = max(1, int(hyperparameters.get("batch_size") or 1) * int(hyperparameters.get("gradient_accumulation")
                                                                       or 1))
    return math.ceil(max(0, train_rows) / per_step) * max(1, int(hyperparameters.get("num_epochs") or 1))


# Seconds per step of a short real run, used before any run on the model here: `python -m
# training.trainer` with the Standard preset (batch 8, LoRA r16 on q/k/v/o) on lesson-sized rows
# (mean 84 tokens), 2 shared CPU cores, one thread (bench/trainer_smollm2.py, docs/benchmarks.md).
MEASURED_SECONDS_PER_STEP = {"smollm2-135m-instruct": 10.8}


def seconds_per_step(base_model: str | None = None) -> float | None:
    """Measured on the most recent finished runs here, on base_model when given (None before the first one).

    A base model with no finished run here falls back to its figure in MEASURED_SECONDS_PER_STEP.
    """
    runs = TrainingRun.objects.filter(status=JobStatus.SUCCEEDED, total_steps__gt=0, started_at__isnull=False,
                                      finished_at__isnull=False)
    if base_model:
        runs = runs.filter(base_model=base_model)
    rates = [(run.finished_at - run.started_at).total_seconds() / run.total_steps
             for run in runs.order_by("-finished_at")[:5]]
    if rates:
        return round(sum(rates) / len(rates), 3)
    return MEASURED_SECONDS_PER_STEP.get(base_model or "")
