"""Run spec: parsing and validation.

A spec is a JSON object:

    {"base_model": "<HF id or local path>", "dataset_path": "<snapshot .jsonl>",
     "output_dir": "<run folder>", "hyperparameters": {...}, "device": "auto|cpu|cuda",
     "backend": "auto|peft|unsloth", "dataset_sha256": "<optional, verified when given>"}

Unknown top-level keys are ignored (the launcher may add its own); unknown
hyperparameters are refused, because a typo there would silently train with a default.
HYPERPARAMETERS is importable by the Django side to validate forms with the same ranges.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re

from training.trainer.errors import SpecError

DEFAULT_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj"]

# name -> (type, default, minimum, maximum); None bounds are open.
HYPERPARAMETERS: dict[str, tuple[type, object, float | None, float | None]] = {
    "lora_rank": (int, 16, 1, 1024),
    "lora_alpha": (float, 32.0, 0.01, 4096),
    "lora_dropout": (float, 0.05, 0.0, 0.9),
    "learning_rate": (float, 2e-4, 1e-8, 1.0),
    "num_epochs": (int, 3, 1, 1000),
    "batch_size": (int, 8, 1, 4096),
    "gradient_accumulation": (int, 1, 1, 4096),
    "max_seq_length": (int, 1024, 8, 131072),
    "seed": (int, 42, 0, 2**31 - 1),
    "packing": (bool, False, None, None),
    "eval_every_steps": (int, 50, 1, 10**7),
    "save_every_steps": (int, None, 1, 10**7),  # None: with every evaluation
    "early_stopping_patience": (int, 3, 0, 10**6),  # 0: never stop early
    "logging_every_steps": (int, 10, 1, 10**7),
    "max_steps": (int, None, 1, 10**8),  # None: num_epochs decides
    "warmup_ratio": (float, 0.03, 0.0, 0.9),
    "weight_decay": (float, 0.0, 0.0, 10.0),
}
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("auto", "peft", "unsloth")


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    lora_rank: int
    lora_alpha: float
    lora_dropout: float
    learning_rate: float
    num_epochs: int
    batch_size: int
    gradient_accumulation: int
    max_seq_length: int
    seed: int
    packing: bool
    eval_every_steps: int
    save_every_steps: int | None
    early_stopping_patience: int
    logging_every_steps: int
    max_steps: int | None
    warmup_ratio: float
    weight_decay: float
    target_modules: list[str] | str

    @property
    def checkpoint_every(self) -> int:
        return self.save_every_steps or self.eval_every_steps

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Spec:
    base_model: str
    dataset_path: pathlib.Path
    output_dir: pathlib.Path
    hyperparameters: Hyperparameters
    device: str = "auto"
    backend: str = "auto"
    dataset_sha256: str | None = None
    raw: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)


def load_spec(path: pathlib.Path) -> Spec:
    """Read and validate a spec file; raise SpecError naming every problem."""
    try:
        data = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SpecError(f"spec file not found: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"spec file {path} is not valid JSON: {exc}") from exc
    return parse_spec(data)


def parse_spec(data: object) -> Spec:
    """Validate a spec object (see module docstring); raise SpecError listing all problems."""
    if not isinstance(data, dict):
        raise SpecError("spec must be a JSON object")
    problems: list[str] = []
    base_model = _required_str(data, "base_model", problems)
    dataset_path = _required_str(data, "dataset_path", problems)
    output_dir = _required_str(data, "output_dir", problems)
    device = _choice(data, "device", DEVICES, problems)
    backend = _choice(data, "backend", BACKENDS, problems)
    sha = data.get("dataset_sha256")
    if sha is not None and not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
        problems.append("dataset_sha256: must be 64 lowercase hex characters")
    raw_hp = data.get("hyperparameters", {})
    if not isinstance(raw_hp, dict):
        problems.append("hyperparameters: must be an object")
        raw_hp = {}
    hp = parse_hyperparameters(raw_hp, problems)
    if problems:
        raise SpecError("invalid spec: " + "; ".join(problems), details=problems)
    return Spec(
        base_model=base_model,
        dataset_path=pathlib.Path(dataset_path),
        output_dir=pathlib.Path(output_dir),
        hyperparameters=hp,
        device=device,
        backend=backend,
        dataset_sha256=sha,
        raw=data,
    )


def parse_hyperparameters(raw: dict, problems: list[str]) -> Hyperparameters:
    """Fill defaults and check types and ranges; append one message per bad field to problems."""
    values: dict[str, object] = {}
    for name in sorted(set(raw) - set(HYPERPARAMETERS) - {"target_modules"}):
        problems.append(f"hyperparameters.{name}: unknown hyperparameter")
    for name, (kind, default, low, high) in HYPERPARAMETERS.items():
        value = raw.get(name, default)
        values[name] = value if value is None else _check_number(name, value, kind, low, high, problems)
    values["target_modules"] = _target_modules(raw.get("target_modules", DEFAULT_TARGET_MODULES), problems)
    return Hyperparameters(**values)


def _check_number(name, value, kind, low, high, problems):
    label = f"hyperparameters.{name}"
    if kind is bool:
        if not isinstance(value, bool):
            problems.append(f"{label}: must be true or false")
        return value
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int and ok and float(value) != int(value):
        ok = False
    if not ok:
        problems.append(f"{label}: must be {'an integer' if kind is int else 'a number'}")
        return value
    value = kind(value)
    if (low is not None and value < low) or (high is not None and value > high):
        problems.append(f"{label}: {value} is out of range [{low}, {high}]")
    return value


def _target_modules(value, problems):
    if value == "all-linear":
        return value
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and _MODULE_NAME.match(v) for v in value):
        problems.append('hyperparameters.target_modules: must be "all-linear" or a non-empty list of module names')
    return value


def _required_str(data, key, problems):
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{key}: required, a non-empty string")
        return ""
    return value


def _choice(data, key, choices, problems):
    value = data.get(key, choices[0])
    if value not in choices:
        problems.append(f"{key}: must be one of {', '.join(choices)}")
    return value
