"""The toy base model and two LoRA adapters that answer differently (built once per session)."""

import json
from pathlib import Path


def build_adapter(base_dir: Path, out_dir: Path, *, seed: int) -> Path:
    """A LoRA adapter with random (seeded, non-zero) weights, saved per the adapter contract."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.trainer.tiny_base import CHAT_TEMPLATE

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    config = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
                        init_lora_weights=False, task_type="CAUSAL_LM")
    model = get_peft_model(base, config)
    with torch.no_grad():  # make the adapters' effect large enough to change greedy output
        for name, param in model.named_parameters():
            if "lora_" in name:
                param.mul_(4.0)
    model.save_pretrained(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "academy_adapter.json").write_text(json.dumps({
        "format_version": 1, "base_model": str(base_dir), "base_architecture": "LlamaForCausalLM",
        "dataset_sha256": "", "hyperparameters": {"seed": seed},
        "metrics": {"train_loss": 1.0 + seed, "eval_loss": 2.0 + seed},
        "prompt": {"style": "chat_template", "template": CHAT_TEMPLATE, "eos_token": "</s>", "stop": ["</s>"],
                   "add_bos_token": False, "bos_token": None},
        "trainer": {"backend": "peft", "versions": {}}}))
    return out_dir


def build_toy_set(root: Path) -> dict:
    from training.trainer.tiny_base import build_tiny_base

    base = build_tiny_base(root / "base", seed=0)
    return {"base": base,
            "a": build_adapter(base, root / "adapter-a", seed=1),
            "b": build_adapter(base, root / "adapter-b", seed=2)}
