"""Plain factories for registry tests: lines, versions and adapter folders on disk."""

import itertools
import json
import shutil
from pathlib import Path

from django.conf import settings

from models_registry.adapters import hash_folder
from models_registry.models import ModelLine, ModelVersion, VersionStatus

_seq = itertools.count(1)

TOY_PROMPT = {
    "style": "chat_template",
    "template": ("{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
                 "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"),
    "eos_token": "</s>",
    "stop": ["</s>"],
}


def write_fake_adapter(relative: str, *, base_model="toy/base", weights=b"weights", prompt=None,
                       architecture="LlamaForCausalLM", lora_alpha=16) -> str:
    """An adapter folder with the contract's files (not loadable by PEFT; for registry logic)."""
    folder = Path(settings.DATA_DIR) / relative
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({
        "base_model_name_or_path": base_model, "peft_type": "LORA", "r": 8, "lora_alpha": lora_alpha,
        "target_modules": ["q_proj", "v_proj"]}))
    (folder / "adapter_model.safetensors").write_bytes(weights)
    (folder / "academy_adapter.json").write_text(json.dumps({
        "format_version": 1, "base_model": base_model, "base_architecture": architecture, "dataset_sha256": "",
        "hyperparameters": {}, "metrics": {"train_loss": 1.0, "eval_loss": 1.2},
        "prompt": prompt or TOY_PROMPT, "trainer": {"backend": "peft", "versions": {}}}))
    return relative


def make_line(name="venom-coder", base_model="toy/base", **extra) -> ModelLine:
    return ModelLine.objects.create(name=name, base_model=base_model, **extra)


def make_version(line, *, status=VersionStatus.CANDIDATE, adapter_src: Path | None = None, base_model=None,
                 metrics=None, prompt=None, architecture="LlamaForCausalLM", lora_alpha=16,
                 **extra) -> ModelVersion:
    """A version whose adapter folder exists under the data root with recorded hashes."""
    n = line.versions.count() + 1
    relative = f"runs/{line.name}-{n}-{next(_seq)}/adapter"
    if adapter_src is not None:
        shutil.copytree(adapter_src, Path(settings.DATA_DIR) / relative)
        prompt = json.loads((adapter_src / "academy_adapter.json").read_text())["prompt"]
    else:
        prompt = prompt or TOY_PROMPT
        write_fake_adapter(relative, base_model=base_model or line.base_model, weights=f"w{n}".encode(),
                           prompt=prompt, architecture=architecture, lora_alpha=lora_alpha)
    return ModelVersion.objects.create(
        line=line, number=n, label=f"v{n}", base_model=base_model or line.base_model, adapter_dir=relative,
        adapter_files=hash_folder(Path(settings.DATA_DIR) / relative), prompt=prompt, status=status,
        metrics=metrics if metrics is not None else {"training": {"train_loss": 1.0}, "eval": {}, "arena": {}},
        **extra)
