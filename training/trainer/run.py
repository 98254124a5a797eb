"""One training run from spec to adapter: the steps `python -m training.trainer` performs."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import platform
import shutil
import time

from training.trainer import checkpoints
from training.trainer.data import load_dataset
from training.trainer.errors import DatasetError
from training.trainer.prompts import PromptFormat
from training.trainer.protocol import emit, log
from training.trainer.spec import Spec

METADATA_FILE = "academy_adapter.json"
# The files of a finished adapter folder (PEFT's config and weights, then ours): every check
# of an adapter, by the worker that trained it and by the registry, asks for these.
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = checkpoints.WEIGHTS_FILE
ADAPTER_FILES = (ADAPTER_CONFIG, ADAPTER_WEIGHTS, METADATA_FILE)
FORMAT_VERSION = 1
# The store's manifest in a stored base model's folder (training.model_store.MANIFEST).
BASE_MANIFEST = "academy_manifest.json"


def execute(spec: Spec) -> dict:
    """Train per spec and write <output_dir>/adapter; returns the done metrics."""
    from training.trainer import modeling
    from training.trainer.loop import Trainer

    started = time.perf_counter()
    output = spec.output_dir
    output.mkdir(parents=True, exist_ok=True)
    checkpoints.remove_partial(output)
    _keep_spec(spec)
    dataset = load_dataset(spec.dataset_path, spec.dataset_sha256)
    if dataset.skipped:
        log(f"skipped {len(dataset.skipped)} unusable record(s), first: {dataset.skipped[0]}")
    _seed(spec.hyperparameters.seed)
    loaded = modeling.load(spec)
    spec = fit_to_model(spec, loaded.model)
    fmt = PromptFormat(loaded.tokenizer, spec.hyperparameters.max_seq_length)
    train_rows = _encode(fmt, dataset.train)
    eval_rows = _encode(fmt, dataset.eval)
    if not train_rows:
        raise DatasetError("no training example fits in max_seq_length with at least one response token")
    trainer = Trainer(spec, loaded, train_rows, eval_rows, dataset.sha256)
    resumed = trainer.resume()
    trainable, total = _parameter_counts(loaded.model)
    emit("start", total_steps=trainer.total_steps, device=loaded.device, backend=loaded.backend, dtype=loaded.dtype,
         resumed_from_step=resumed, train_examples=len(train_rows), eval_examples=len(eval_rows),
         skipped_examples=len(dataset.skipped), prompt_style=fmt.style, packing=spec.hyperparameters.packing,
         trainable_params=trainable, total_params=total)
    state = trainer.run()
    trainer.restore_best()
    _write_example_losses(spec, loaded, fmt, dataset)
    metrics = {
        "train_loss": state.train_loss,
        "eval_loss": state.best_eval_loss,
        "last_eval_loss": state.last_eval_loss,
        "best_step": state.best_step,
        "steps": state.step,
        "epochs": round(state.step / trainer.steps_per_epoch, 4),
        "stopped_early": state.stopped_early,
        "train_examples": len(train_rows),
        "eval_examples": len(eval_rows),
        "tokens_per_s": round(trainer.tokens_seen / trainer.train_seconds, 1) if trainer.train_seconds else None,
        "runtime_s": round(time.perf_counter() - started, 2),
    }
    _write_adapter(spec, loaded, fmt, dataset.sha256, metrics)
    return metrics


def _write_adapter(spec: Spec, loaded, fmt: PromptFormat, dataset_sha256: str, metrics: dict) -> None:
    """Save LoRA weights, tokenizer and metadata to adapter/, replacing any older one whole."""
    final = spec.output_dir / "adapter"
    tmp = spec.output_dir / ".adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    loaded.model.save_pretrained(tmp)
    loaded.tokenizer.save_pretrained(tmp)
    name, digest = base_identity(spec.base_model)
    metadata = {
        "format_version": FORMAT_VERSION,
        "base_model": name,
        "base_model_digest": digest,
        "base_architecture": base_architecture(loaded.model),
        "dataset_sha256": dataset_sha256,
        "hyperparameters": spec.hyperparameters.as_dict(),
        "metrics": metrics,
        "prompt": fmt.metadata(),
        "trainer": {"backend": loaded.backend, "device": loaded.device, "dtype": loaded.dtype, "versions": versions()},
    }
    (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def base_identity(base_model: str) -> tuple[str, str | None]:
    """(name, digest) of the base model: a stored model's manifest names it, never the folder it was read from.

    The spec gives the trainer a folder (a host path, or a mount point inside a container);
    a model stored under the models root carries its short name and snapshot digest in its
    manifest. Anything else (a Hugging Face id, an unstored folder) keeps the spec's string.
    """
    manifest = pathlib.Path(base_model) / BASE_MANIFEST
    try:
        data = json.loads(manifest.read_text()) if manifest.is_file() else {}
    except (OSError, ValueError):
        data = {}
    name = data.get("model_id") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        return base_model, None
    digest = data.get("digest")
    return name, digest if isinstance(digest, str) and digest else None


def base_architecture(model) -> str | None:
    """The base model's architecture class (LlamaForCausalLM...): what Ollama's adapter import checks."""
    found = getattr(getattr(model, "config", None), "architectures", None) or []
    if found:
        return found[0]
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return type(base).__name__


def versions() -> dict:
    """Versions of the libraries that shaped the adapter."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("torch", "transformers", "peft", "accelerate", "tokenizers", "unsloth"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _write_example_losses(spec: Spec, loaded, fmt: PromptFormat, dataset) -> None:
    """Each example's loss under the final adapter, for curation's feedback (example_losses.py)."""
    from training.trainer import example_losses

    results = example_losses.compute(loaded.model, loaded.tokenizer, fmt, [*dataset.train, *dataset.eval],
                                     device=loaded.device, batch_size=spec.hyperparameters.batch_size)
    emit("example_losses", path=example_losses.write(spec.output_dir, results), count=len(results))


def _keep_spec(spec: Spec) -> None:
    """Keep a copy of the spec in the run folder (run folder contract), unless it is already there."""
    target = spec.output_dir / "spec.json"
    if not target.exists():
        target.write_text(json.dumps(spec.raw, indent=2, sort_keys=True) + "\n")


def _encode(fmt: PromptFormat, examples) -> list:
    """Tokenize examples; one the template or tokenizer cannot handle is skipped, not fatal."""
    rows, failures = [], []
    for example in examples:
        try:
            encoded = fmt.encode(example.messages)
        except Exception as exc:  # noqa: BLE001 - a template error names the example's problem
            failures.append(f"{type(exc).__name__}: {exc}")
            continue
        if encoded is not None:
            rows.append(encoded)
    if failures:
        log(f"skipped {len(failures)} example(s) the prompt format rejected, first: {failures[0]}")
        if not rows:
            raise DatasetError(f"the base model's prompt format rejected every example: {failures[0]}",
                               details=failures[:5])
    return rows


def _seed(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def _parameter_counts(model) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def resolve_paths(spec: Spec, base: pathlib.Path) -> Spec:
    """Relative dataset/output paths in a spec are taken relative to the spec file's folder."""
    import dataclasses

    def absolute(path: pathlib.Path) -> pathlib.Path:
        return path if path.is_absolute() else (base / path)

    return dataclasses.replace(spec, dataset_path=absolute(spec.dataset_path), output_dir=absolute(spec.output_dir))


def fit_to_model(spec: Spec, model) -> Spec:
    """Cap max_seq_length at the base model's positions (the toy model has 512; the default is 1024)."""
    config = getattr(model, "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    hp = spec.hyperparameters
    if not positions or hp.max_seq_length <= positions:
        return spec
    log(f"max_seq_length {hp.max_seq_length} is more than the base model's {positions} positions: using {positions}")
    return dataclasses.replace(spec, hyperparameters=dataclasses.replace(hp, max_seq_length=positions))

