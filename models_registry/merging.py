"""A version's adapter merged into its base model: the export for runtimes that cannot load the adapter.

The trainer package (training.trainer.merge) folds the LoRA weights into the base weights
with PEFT's merge_and_unload(); save_pretrained writes safetensors (config.json,
model*.safetensors) with the tokenizer beside it, the layout Ollama's safetensors import
and llama.cpp's convert_hf_to_gguf.py read. A Modelfile
with the derived TEMPLATE is written next to it when one renders the training prompt.
"""

import json
from pathlib import Path

from django.conf import settings

from artifacts.staging import staged_folder
from models_registry import adapters, ollama


class MergeError(RuntimeError):
    """The merged model cannot be written; the message says why."""


def default_target(version) -> Path:
    return Path(settings.DATA_DIR) / "exports" / f"{version.line.name}-{version.label}"


def export_merged(version, target: Path | None = None) -> Path:
    """Write the merged full model to target (replaced whole) and return it."""
    # Both through the artifact layer: fetched (sha256-checked) where this host lacks them.
    adapter_dir = adapters.local_folder(version)
    base = adapters.base_model_folder(version)
    if base is None:
        raise MergeError(f"base model {version.base_model} is not here; fetch it first: "
                         f"python manage.py fetch_base_model {version.base_model}")
    target = Path(target or default_target(version))
    with staged_folder(target) as staging:
        staging.mkdir()
        _merge(base, adapter_dir, staging)
        (staging / adapters.METADATA_FILE).write_text(json.dumps({
            "merged_from": {"line": version.line.name, "version": version.label, "base_model": version.base_model,
                            "adapter_files": version.adapter_files},
            "prompt": version.prompt}, indent=2, sort_keys=True) + "\n")
        try:
            (staging / "Modelfile").write_text(ollama.merged_modelfile(version, target))
        except ollama.OllamaRefused:
            pass  # the model is still useful to llama.cpp and the built-in endpoint
    return target


def _merge(base: Path, adapter_dir: Path, out: Path) -> None:
    try:
        from training.trainer.merge import merge_adapter

        merge_adapter(base, adapter_dir, out)
    except ImportError as exc:
        raise MergeError(f"merging needs the train extra (torch, transformers, peft): {exc}") from exc
