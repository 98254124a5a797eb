"""The one module that loads models: Unsloth on CUDA when importable, else transformers + PEFT.

Precision: bf16 (or fp16 where bf16 is unsupported) on CUDA, fp32 on CPU. The LoRA
weights themselves stay in fp32 (PEFT's default), the base weights are frozen.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import pathlib

from training.trainer.errors import ModelNotFoundError, SpecError
from training.trainer.spec import Hyperparameters, Spec


@dataclasses.dataclass
class Loaded:
    model: object  # a PeftModel
    tokenizer: object
    backend: str  # "unsloth" | "peft"
    device: str  # "cpu" | "cuda"
    dtype: str  # "float32" | "bfloat16" | "float16"


def pick_device(preference: str) -> str:
    """'cuda' when asked for (or 'auto') and present, else 'cpu'; asking for absent CUDA is an error."""
    import torch

    has_cuda = torch.cuda.is_available()
    if preference == "cuda" and not has_cuda:
        raise SpecError("device: cuda was requested but no CUDA device is available")
    return "cuda" if has_cuda and preference != "cpu" else "cpu"


def pick_backend(preference: str, device: str) -> str:
    """Unsloth needs CUDA and the package; 'auto' falls back to PEFT without either."""
    available = device == "cuda" and importlib.util.find_spec("unsloth") is not None
    if preference == "unsloth" and not available:
        raise SpecError("backend: unsloth needs a CUDA device and the unsloth package")
    if preference == "peft":
        return "peft"
    return "unsloth" if available else "peft"


def load(spec: Spec) -> Loaded:
    """Load tokenizer and base model and wrap it with fresh LoRA weights."""
    device = pick_device(spec.device)
    backend = pick_backend(spec.backend, device)
    source = resolve_model(spec.base_model)
    if backend == "unsloth":
        model, tokenizer = _load_unsloth(source, spec)
        dtype = str(getattr(model, "dtype", "bfloat16")).removeprefix("torch.")
    else:
        model, tokenizer, dtype = _load_peft(source, spec, device)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return Loaded(model=model, tokenizer=tokenizer, backend=backend, device=device, dtype=dtype)


def resolve_model(name: str) -> str:
    """Check a local path exists; leave a Hugging Face id to the hub (which obeys HF_HUB_OFFLINE)."""
    looks_like_path = os.path.isabs(name) or name.startswith((".", "~")) or name.count("/") > 1
    path = pathlib.Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"base model folder {name} has no config.json: not a Hugging Face model")
        return str(path)
    if looks_like_path:
        raise ModelNotFoundError(f"base model not found: no folder at {name}")
    return name


def _load_peft(source: str, spec: Spec, device: str):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.float32
    if device == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    offline = _offline()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=offline)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, local_files_only=offline)
    except OSError as exc:
        raise ModelNotFoundError(_not_found_message(source, exc)) from exc
    model.to(device)
    config = LoraConfig(**_lora_options(spec.hyperparameters), task_type="CAUSAL_LM")
    try:
        model = get_peft_model(model, config)
    except ValueError as exc:  # e.g. target modules absent from this architecture
        raise SpecError(f"hyperparameters.target_modules: {exc}") from exc
    return model, tokenizer, str(dtype).removeprefix("torch.")


def _load_unsloth(source: str, spec: Spec):
    from unsloth import FastLanguageModel  # noqa: I001 - unsloth patches transformers on import

    hp = spec.hyperparameters
    try:
        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=source, max_seq_length=hp.max_seq_length, load_in_4bit=True, dtype=None
        )
    except OSError as exc:
        raise ModelNotFoundError(_not_found_message(source, exc)) from exc
    model = FastLanguageModel.get_peft_model(
        model, **_lora_options(hp), use_gradient_checkpointing="unsloth", random_state=hp.seed
    )
    return model, tokenizer


def _lora_options(hp: Hyperparameters) -> dict:
    """The adapter's shape, the same for both backends: rank, alpha, dropout, target modules, no bias."""
    return {"r": hp.lora_rank, "lora_alpha": whole(hp.lora_alpha), "lora_dropout": hp.lora_dropout,
            "target_modules": hp.target_modules, "bias": "none"}


def _offline() -> bool:
    """HF_HUB_OFFLINE when set; otherwise offline when the hub's name does not resolve within a few
    seconds, so a wrong id fails at once instead of retrying DNS for minutes."""
    setting = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    if setting:
        return setting in ("1", "true", "yes", "on")
    if not _hub_resolves():
        os.environ["HF_HUB_OFFLINE"] = "1"  # huggingface_hub reads it too: no retries
        return True
    return False


def _hub_resolves(timeout: float = 3.0) -> bool:
    import socket
    import threading

    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0].split(":")[0]
    answer: list[bool] = []

    def resolve():
        try:
            socket.getaddrinfo(host, 443)
            answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def _not_found_message(source: str, exc: Exception) -> str:
    hint = " (downloads are off: HF_HUB_OFFLINE=1)" if _offline() else ""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"base model {source!r} not found: not a local folder and not in the Hugging Face cache{hint}. {first}"


def whole(value: float) -> float | int:
    """An integral float as int, so adapter_config.json says 32, not 32.0 (Ollama decodes a uint32)."""
    return int(value) if float(value).is_integer() else value
