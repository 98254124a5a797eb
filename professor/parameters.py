"""Choosing hyperparameters from the dataset size and the memory of the worker that will train.

suggest_parameters(snapshot, worker) returns {name: (value, reason)}. The values start from
the deployment's defaults, take batch size and epochs from the dataset's size band, then
step down for a small GPU or a CPU with little RAM. The toy base model gets settings that
make its loss fall visibly in a few dozen steps.
"""

from __future__ import annotations

from django.conf import settings

from training.base_models import is_toy, toy_base_path
from training.presets import SMALL_MODEL_PARAMETERS, SMALL_MODEL_RECIPE, TOY_RECIPE, TOY_WHY, approximate_parameters
from training.services.runs import default_hyperparameters

SMALL_GPU_MB = 8 * 1024
LOW_RAM_SEQ_LENGTH = 512
LOW_RAM_RANK = 8
# The toy's recipe (training.presets), reporting every step.
TOY = {**TOY_RECIPE, "logging_every_steps": 1}
# (lowest size, batch size, epochs, band name) from the largest band down.
BANDS = [
    (1001, 8, 2, "over 1000"),
    (501, 6, 3, "501-1000"),
    (100, 4, 3, "100-500"),
    (0, 2, 5, "under 100"),
]
TARGET_EVALS = 10


def size_band(examples: int) -> tuple[int, int, str]:
    """(batch size, epochs, band name) for a dataset of `examples` rows."""
    for lowest, batch, epochs, name in BANDS:
        if examples >= lowest:
            return batch, epochs, name
    return BANDS[-1][1:]


def suggest_parameters(snapshot, worker=None, *, base_model: str | None = None) -> dict[str, tuple]:
    """{hyperparameter: (value, reason)} for training on `snapshot` with `worker` (see the module doc)."""
    return fit(snapshot, describe_worker(worker), base_model=base_model)


def fit(snapshot, memory: dict, *, base_model: str | None = None) -> dict[str, tuple]:
    """The suggestion for `snapshot` on a worker described by `memory` (see describe_worker)."""
    examples = snapshot.row_count
    defaults = default_hyperparameters()
    batch, epochs, band = size_band(examples)
    chosen: dict[str, tuple] = {
        "batch_size": (batch, f"{examples} examples: {band} band -> batch {batch}"),
        "num_epochs": (epochs, f"{examples} examples: {band} band -> {epochs} epochs"),
        "gradient_accumulation": (1, "the whole batch fits at once"),
        "max_seq_length": (defaults["max_seq_length"], "the deployment's default"),
        "lora_rank": (defaults["lora_rank"], "the deployment's default"),
        "lora_alpha": (defaults["lora_alpha"], "the deployment's default"),
        "learning_rate": (defaults["learning_rate"], "the deployment's default"),
    }
    base = base_model or settings.DEFAULT_BASE_MODEL or _stored_default() or str(toy_base_path())
    if is_toy(base):
        for name, value in TOY.items():
            chosen[name] = (value, TOY_WHY)
    else:
        _small_model_band(chosen, base)
    _adapt_to_memory(chosen, memory)
    steps = _total_steps(snapshot.train_count or examples, chosen)
    every = max(1, steps // TARGET_EVALS)
    chosen["eval_every_steps"] = (every, f"about {TARGET_EVALS} evaluations over ~{steps} steps")
    return chosen


# What a run learns with (everything but how it reports): kept from the active version by keep_recipe.
RECIPE = ("batch_size", "num_epochs", "gradient_accumulation", "learning_rate", "lora_rank", "lora_alpha",
          "lora_dropout", "max_seq_length", "target_modules", "warmup_ratio", "weight_decay", "packing", "seed")


def keep_recipe(suggestion: dict[str, tuple], active, snapshot) -> dict[str, tuple]:
    """The suggestion with the active version's training settings, so a new candidate differs only in its data.

    Without it the size band moves with the data (89 -> 149 rows: batch 2 x 5 epochs -> batch 4 x 3
    epochs) and the Arena would judge the settings and the data at once. Nothing changes when
    PROFESSOR_KEEP_RECIPE is off or the active version was not trained here (no run).
    """
    run = getattr(active, "training_run", None)
    if not settings.PROFESSOR_KEEP_RECIPE or run is None:
        return suggestion
    hp = run.hyperparameters or {}
    kept = dict(suggestion)
    for name in RECIPE:
        if name in hp:
            kept[name] = (hp[name], f"kept from the active version {active.label} (run {run.pk}), so the Arena "
                                    "compares the data, not the settings")
    steps = _total_steps(snapshot.train_count or snapshot.row_count, kept)
    kept["eval_every_steps"] = (max(1, steps // TARGET_EVALS), f"about {TARGET_EVALS} evaluations over ~{steps} steps")
    return kept


# A small real base model's recipe (SmolLM2-135M-sized, 50M-500M parameters; training.presets).
SMALL_MODEL = SMALL_MODEL_RECIPE


def _stored_default() -> str | None:
    """The base model a run without one gets when a packaged real model is stored (training.base_models)."""
    from training import model_store

    return model_store.preferred_stored()


def _small_model_band(chosen: dict, base: str) -> None:
    """SMALL_MODEL's settings when the stored base model's config puts it in SMALL_MODEL_PARAMETERS."""
    from training import model_store

    count = approximate_parameters(model_store.config(base) or {})
    lowest, highest = SMALL_MODEL_PARAMETERS
    if count is None or not lowest <= count <= highest:
        return
    why = f"a small base model (~{count / 1e6:.0f}M parameters, SmolLM2-sized)"
    for name, value in SMALL_MODEL.items():
        chosen[name] = (value, f"{why}: {name.replace('_', ' ')} {value}")


def values(suggestion: dict[str, tuple]) -> dict:
    return {name: value for name, (value, _reason) in suggestion.items()}


def reasons(suggestion: dict[str, tuple]) -> dict[str, str]:
    return {name: reason for name, (_value, reason) in suggestion.items()}


def suggestion_dict(snapshot, suggestion: dict[str, tuple]) -> dict:
    """A suggestion for `snapshot` as the API returns it: {"dataset": sha256, "parameters": {name: {value, reason}}}."""
    return {"dataset": snapshot.sha256, "parameters": {
        name: {"value": value, "reason": reason} for name, (value, reason) in suggestion.items()}}


def describe_worker(worker=None) -> dict:
    """The memory picture of `worker` (a TrainingWorker), else of the smallest online training worker,
    else of this machine: {"name", "gpu_mb" (smallest GPU or None), "ram_mb"}."""
    if worker is None:
        worker = _smallest_online_worker()
    if worker is not None:
        return _summary(worker.hostname, worker.devices or [])
    from training.backends import BACKENDS

    return _summary("this machine", BACKENDS["local"].devices())


def _summary(name: str, devices: list[dict]) -> dict:
    gpus = [d.get("memory_total_mb") or 0 for d in devices if d.get("kind") == "gpu"]
    cpus = [d.get("memory_total_mb") for d in devices if d.get("kind") == "cpu" and d.get("memory_total_mb")]
    return {"name": name, "gpu_mb": min(gpus) if gpus else None, "ram_mb": min(cpus) if cpus else None}


def _smallest_online_worker():
    from training.workers import online_workers

    workers = [w for w in online_workers() if "training" in (w.queues or [])]
    if not workers:
        return None
    return min(workers, key=lambda w: _memory_mb(_summary(w.hostname, w.devices or [])))


def _memory_mb(summary: dict) -> float:
    return summary["gpu_mb"] if summary["gpu_mb"] is not None else (summary["ram_mb"] or float("inf"))


def _adapt_to_memory(chosen: dict, memory: dict) -> None:
    name, gpu_mb, ram_mb = memory["name"], memory["gpu_mb"], memory["ram_mb"]
    if gpu_mb is not None:
        if gpu_mb < SMALL_GPU_MB:
            batch = chosen["batch_size"][0]
            chosen["batch_size"] = (1, f"{name} has a GPU with {gpu_mb} MiB (< 8 GB): batch 1")
            chosen["gradient_accumulation"] = (batch, f"{name} has a GPU with {gpu_mb} MiB (< 8 GB): accumulate "
                                                      f"{batch} steps (effective batch {batch})")
        return
    if ram_mb is not None and ram_mb < settings.PROFESSOR_LOW_RAM_MB:
        why = f"{name} trains on CPU with {ram_mb} MiB RAM (< {settings.PROFESSOR_LOW_RAM_MB} MiB)"
        seq = min(chosen["max_seq_length"][0], LOW_RAM_SEQ_LENGTH)
        rank = min(chosen["lora_rank"][0], LOW_RAM_RANK)
        chosen["max_seq_length"] = (seq, f"{why}: shorter sequences")
        chosen["lora_rank"] = (rank, f"{why}: smaller rank")
        chosen["lora_alpha"] = (float(2 * rank), f"{why}: alpha follows the rank (2 x {rank})")


def _total_steps(rows: int, chosen: dict) -> int:
    per_step = chosen["batch_size"][0] * chosen["gradient_accumulation"][0]
    return max(1, -(-rows // per_step)) * chosen["num_epochs"][0]


def explain(submitted: dict, suggestion: dict[str, tuple], given: dict | None = None) -> dict[str, str]:
    """Where each submitted value came from: the start form's own reason (`given`: a preset, the person), else
    the Professor's rule when the value is its suggestion, else the default or the person who started the run."""
    defaults = default_hyperparameters()
    explained = {}
    for name, value in submitted.items():
        if given and name in given:
            explained[name] = given[name]
            continue
        if name not in suggestion:
            continue
        suggested, why = suggestion[name]
        if _same(value, suggested):
            explained[name] = why if why.startswith("the deployment's default") else f"the Professor: {why}"
        elif name in defaults and _same(value, defaults[name]):
            explained[name] = f"the deployment's default (the Professor would choose {suggested}: {why})"
        else:
            explained[name] = f"set by whoever started the run (the Professor would choose {suggested}: {why})"
    return explained


def _same(a, b) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(b)))
    return a == b


def mark_automatic(run, suggestion: dict[str, tuple]) -> None:
    """Record that the Professor chose this run's settings, with each reason."""
    from professor.models import ParameterChoice, ParameterSource

    ParameterChoice.objects.update_or_create(run=run, defaults={
        "source": ParameterSource.AUTOMATIC, "reasons": reasons(suggestion), "suggested": values(suggestion)})
