"""Fold a LoRA adapter into its base model and save a full model (safetensors + tokenizer).

Part of the trainer package, the training side's one wrapper around torch, transformers and
PEFT (no Django import). Used by `manage.py export_merged` for runtimes that cannot load the
adapter on their copy of the base (Ollama's adapter import takes only llama and gemma2).
"""

from __future__ import annotations

import pathlib


def merge_adapter(base_dir: pathlib.Path, adapter_dir: pathlib.Path, out_dir: pathlib.Path) -> None:
    """PEFT merge_and_unload, then save_pretrained in safetensors with the tokenizer beside it."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True)
    merged = PeftModel.from_pretrained(model, adapter_dir, local_files_only=True).merge_and_unload()
    merged.save_pretrained(out_dir, safe_serialization=True)
    tokenizer_source = adapter_dir if (adapter_dir / "tokenizer_config.json").exists() else base_dir
    AutoTokenizer.from_pretrained(tokenizer_source, local_files_only=True).save_pretrained(out_dir)
