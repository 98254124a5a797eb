"""Start-form presets fitted to the chosen base model and dataset, one-line field explanations, and the
estimate of steps and time before a run starts.

A preset's values are built in layers, and each value keeps the reason of the layer that set it
last: the deployment's defaults, then the base model's recipe (the toy model and SmolLM2-sized
models need a higher learning rate than the defaults to learn visibly), then the preset's own
values, then what the dataset's size asks for (how often to log and evaluate, so the chart has
enough points to read) and the base model's context (the longest sequence it takes).
"""

import math

from jobs.models import JobStatus
from training.base_models import is_toy
from training.models import TrainingRun

PRESETS = {
    "quick": {"label": "Quick try",
              "explain": "A low rank and short sequences, with just enough steps for a curve to read: "
                         "minutes on a CPU, to see the loop work.",
              "values": {"lora_rank": 8, "lora_alpha": 16, "max_seq_length": 256, "batch_size": 4}},
    "standard": {"label": "Standard",
                 "explain": "The deployment's defaults, fitted to the base model and the dataset: "
                            "a good first real adapter.",
                 "values": {}},
    "thorough": {"label": "Thorough",
                 "explain": "More epochs at a higher rank with half the learning rate: slower, for an adapter to keep.",
                 "values": {"num_epochs": 5, "lora_rank": 32, "lora_alpha": 64}},
}
# A quick try aims at this many optimizer steps (enough points to see the loss fall), in at most QUICK_MAX_EPOCHS.
QUICK_TARGET_STEPS = 40
QUICK_MAX_EPOCHS = 4
# How many evaluations and train points a run's chart gets, whatever its length.
TARGET_EVALS = 8
TARGET_POINTS = 50

# Base model recipes. The toy model (measured: 60 lessons, batch 2, 5 epochs): eval loss 6.23 -> 5.29 with
# these settings, 6.81 -> 6.55 with the defaults.
TOY_RECIPE = {"learning_rate": 3e-3, "lora_rank": 16, "lora_alpha": 32.0, "max_seq_length": 256,
              "target_modules": "all-linear", "warmup_ratio": 0.0}
TOY_WHY = "the toy base model: these settings make its loss fall visibly within a few dozen steps"
# A small real base model (SmolLM2-135M-sized). Measured on SmolLM2-135M-Instruct: LoRA r16 on every linear
# layer at lr 1e-3 lowers the loss within a few steps, and 512-token sequences keep a CPU step to seconds.
SMALL_MODEL_RECIPE = {"learning_rate": 1e-3, "lora_rank": 16, "lora_alpha": 32.0, "max_seq_length": 512,
                      "target_modules": "all-linear"}
SMALL_MODEL_PARAMETERS = (50_000_000, 500_000_000)

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
    "eval_every_steps": "How often the eval loss is measured and drawn (and a checkpoint kept).",
    "logging_every_steps": "How often the train loss is reported: one point on the chart per this many steps.",
    "warmup_ratio": "Share of the steps over which the learning rate rises from zero to its value.",
    "early_stopping_patience": "Stop when this many evaluations in a row do not improve the eval loss; 0: never.",
}


def preset_values(key: str, defaults: dict) -> dict:
    """The defaults overlaid with the preset's own values (unknown key: the defaults), fitted to nothing."""
    return {**defaults, **PRESETS.get(key, {"values": {}})["values"]}


def approximate_parameters(config: dict) -> int | None:
    """Parameters of a decoder-only transformer from its config.json (embeddings, attention, MLP), or None."""
    try:
        hidden, layers = int(config["hidden_size"]), int(config["num_hidden_layers"])
        vocab, inner = int(config["vocab_size"]), int(config.get("intermediate_size") or 4 * hidden)
        heads = int(config.get("num_attention_heads") or 1)
        kv_heads = int(config.get("num_key_value_heads") or heads)
    except (KeyError, TypeError, ValueError):
        return None
    attention = 2 * hidden * hidden + 2 * hidden * (hidden * kv_heads // heads)
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", True) else 2)
    return embeddings + layers * (attention + 3 * hidden * inner)


def base_recipe(base_model: str) -> tuple[dict, str]:
    """(settings, why) for a base model that needs its own: the toy model and SmolLM2-sized models; else ({}, "")."""
    if not base_model:
        return {}, ""
    if is_toy(base_model):
        return TOY_RECIPE, TOY_WHY
    from training import model_store

    count = approximate_parameters(model_store.config(base_model) or {})
    lowest, highest = SMALL_MODEL_PARAMETERS
    if count is None or not lowest <= count <= highest:
        return {}, ""
    return SMALL_MODEL_RECIPE, (f"a small base model (~{count / 1e6:.0f}M parameters, SmolLM2-sized): it learns "
                                "visibly at a higher learning rate than the defaults, on every linear layer")


def context_length(base_model: str) -> int | None:
    """The longest sequence the base model takes (its config's max_position_embeddings), when its files are here."""
    from training import model_store

    value = (model_store.config(base_model) or {}).get("max_position_embeddings") if base_model else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def fit_preset(key: str, *, base_model: str, train_rows: int, defaults: dict, advice: dict | None = None) -> dict:
    """{"values", "reasons"} of preset `key` for this base model and a dataset of `train_rows` training rows.

    Each reason says where its value came from, in the order the layers apply (module doc).
    `advice` ({name: (value, reason)}, the Professor's suggestion) is the "suggested" preset's own layer.
    """
    values = dict(defaults)
    reasons = dict.fromkeys(values, "the deployment's default")

    def layer(new: dict, why: str) -> None:
        for name, value in new.items():
            values[name], reasons[name] = value, why

    recipe, why = base_recipe(base_model)
    layer(recipe, why)
    preset = PRESETS.get(key)
    if preset:
        layer(preset["values"], f"the {preset['label']} preset")
    if advice:
        for name, (value, reason) in advice.items():
            layer({name: value}, f"the Professor: {reason}")
    per_epoch = estimate_steps(train_rows, {**values, "num_epochs": 1})
    if key == "thorough":
        layer({"learning_rate": values["learning_rate"] / 2},
              f"the Thorough preset: half of {values['learning_rate']:g} ({reasons['learning_rate']})")
    if key == "quick" and per_epoch:
        epochs = min(QUICK_MAX_EPOCHS, max(1, math.ceil(QUICK_TARGET_STEPS / per_epoch)))
        layer({"num_epochs": epochs}, f"the Quick try preset: {epochs} epoch{'s' if epochs > 1 else ''} of "
                                      f"{per_epoch} step{'s' if per_epoch > 1 else ''}, {epochs * per_epoch} in all "
                                      f"(it aims at about {QUICK_TARGET_STEPS}, in at most {QUICK_MAX_EPOCHS} epochs, "
                                      "for a curve to read)")
    context = context_length(base_model)
    if context and int(values.get("max_seq_length") or 0) > context:
        layer({"max_seq_length": context}, f"the base model's context: it takes at most {context} tokens")
    steps = estimate_steps(train_rows, values)
    if not steps:
        return {"values": values, "reasons": reasons}
    if not (advice and "eval_every_steps" in advice):
        every = max(1, steps // TARGET_EVALS)
        layer({"eval_every_steps": every}, f"the dataset's size: about {steps // every} "
                                           f"evaluations over ~{steps} steps")
    points = max(1, steps // TARGET_POINTS)
    every_point = "every step" if points == 1 else f"every {points} steps"
    layer({"logging_every_steps": points}, f"the dataset's size: a train point {every_point}, "
                                           f"about {math.ceil(steps / points)} on the chart over ~{steps} steps")
    return {"values": values, "reasons": reasons}


def grouped_reasons(values: dict, reasons: dict, names=None) -> list[dict]:
    """[{"reason", "settings": [(name, value), ...]}]: each reason once, with the settings it explains."""
    groups: dict[str, list] = {}
    for name in names or sorted(reasons):
        if name in reasons:
            groups.setdefault(reasons[name], []).append((name, values.get(name)))
    return [{"reason": reason, "settings": settings} for reason, settings in groups.items()]


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
