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


def make_served_line(toy: dict, admin) -> tuple[ModelLine, ModelVersion, ModelVersion]:
    """A line on the toy base (tests.models_registry.tiny_models) with v1 (adapter a) active and v2 (adapter b)
    a candidate, promoted by `admin`."""
    from models_registry import services

    line = make_line(base_model=str(toy["base"]))
    v1 = make_version(line, adapter_src=toy["a"])
    v2 = make_version(line, adapter_src=toy["b"])
    services.promote_version(v1, admin, "first")
    return line, v1, v2


def register_trained_run(max_steps: int) -> ModelVersion:
    """The real trainer on the toy model for `max_steps` steps into runs/1, that run recorded as succeeded for line
    toy-line and registered: the candidate version (needs the train extra)."""
    from curation.models import DatasetSnapshot
    from models_registry import services
    from tests.training.trainer_fixtures import records, run_trainer, toy_model, write_snapshot, write_spec
    from training.models import TrainingRun

    run_dir = Path(settings.DATA_DIR) / "runs" / "1"
    run_dir.mkdir(parents=True)
    base = toy_model()
    code, _, stderr = run_trainer(write_spec(run_dir, base, write_snapshot(run_dir, records("messages")), run_dir,
                                             max_steps=max_steps))
    assert code == 0, stderr[-2000:]
    snapshot = DatasetSnapshot.objects.create(name="s", sha256="c" * 64, format="messages", path="x.jsonl",
                                              row_count=24, train_count=20, eval_count=4)
    run = TrainingRun.objects.create(dataset=snapshot, base_model=str(base), run_dir="runs/1", status="succeeded",
                                     hyperparameters={"model_line": "toy-line"})
    return services.register_run_version(run)


_SERVING_SETUP = """
from pathlib import Path
from django.contrib.auth import get_user_model
from accounts.services import create_api_token
from models_registry import canary, services
from tests.models_registry.factories import make_line, make_version
admin = get_user_model().objects.get(username="admin")
line = make_line(base_model={base!r})
services.promote_version(make_version(line, adapter_src=Path({a!r})), admin, "serve it")
b = Path({b!r})
{then}
_, raw = create_api_token(admin, name="agent", role={role!r})
(Path({data!r}) / "agent-token").write_text(raw)
"""


def serving_setup(toy: dict, data_dir, role: str, then: str = "") -> str:
    """Python for tests.academy_server.AcademyServer(setup=...): the admin serves line venom-coder on the toy base
    with adapter a active, runs `then` (in scope: admin, line, b = adapter b's folder, canary, services,
    make_version), and writes the raw secret of a token with `role` to <data_dir>/agent-token."""
    return _SERVING_SETUP.format(base=str(toy["base"]), a=str(toy["a"]), b=str(toy["b"]), then=then, role=role,
                                 data=str(data_dir))
