"""Checkpoints: LoRA weights + optimizer + scheduler + RNG + loop state, under checkpoints/step-N/.

A checkpoint is written to a hidden temporary folder and renamed into place, and its
trainer_state.json is the last file written, so a run killed mid-save leaves either a
complete checkpoint or none.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import random
import re
import shutil

from training.trainer.errors import TrainerError

# The files of a checkpoint: PEFT's adapter weights (save_pretrained; a finished adapter's weights file too,
# training.trainer.run.ADAPTER_WEIGHTS), the optimizer, scheduler and random states, and the loop's state
# (written last). A copy without all of them is not a checkpoint (training.checkpoint_store uploads none).
WEIGHTS_FILE = "adapter_model.safetensors"
OPTIMIZER_FILE, SCHEDULER_FILE, RNG_FILE = "optimizer.pt", "scheduler.pt", "rng.pt"
STATE_FILE = "trainer_state.json"
FILES = (WEIGHTS_FILE, OPTIMIZER_FILE, SCHEDULER_FILE, RNG_FILE, STATE_FILE)
KEEP_LAST = 2
_STEP_DIR = re.compile(r"^step-(\d+)$")


@dataclasses.dataclass
class LoopState:
    step: int = 0
    best_eval_loss: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    last_eval_loss: float | None = None
    train_loss: float | None = None
    stopped_early: bool = False
    dataset_sha256: str = ""


def checkpoint_dir(output_dir: pathlib.Path, step: int) -> pathlib.Path:
    return output_dir / "checkpoints" / f"step-{step}"


def save(output_dir: pathlib.Path, model, optimizer, scheduler, state: LoopState) -> pathlib.Path:
    """Write a complete checkpoint for state.step and prune old ones (the best is always kept)."""
    import torch

    final = checkpoint_dir(output_dir, state.step)
    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    torch.save(optimizer.state_dict(), tmp / OPTIMIZER_FILE)
    torch.save(scheduler.state_dict(), tmp / SCHEDULER_FILE)
    rng = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, tmp / RNG_FILE)
    (tmp / STATE_FILE).write_text(json.dumps(dataclasses.asdict(state), indent=2))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    _prune(output_dir, keep={state.best_step})
    return final


def latest(output_dir: pathlib.Path) -> pathlib.Path | None:
    """The complete checkpoint with the highest step, or None."""
    steps = _complete(output_dir)
    return steps[max(steps)] if steps else None


def restore(path: pathlib.Path, model, optimizer, scheduler) -> LoopState:
    """Load a checkpoint into model/optimizer/scheduler and the RNGs; return its loop state."""
    import torch

    load_adapter_weights(path, model)
    optimizer.load_state_dict(_load(path / OPTIMIZER_FILE))
    scheduler.load_state_dict(_load(path / SCHEDULER_FILE))
    rng = _load(path / RNG_FILE)
    random.setstate(rng["python"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return LoopState(**json.loads((path / STATE_FILE).read_text()))


def _load(file: pathlib.Path):
    """torch.load of tensors and plain values only: a checkpoint can never run code when resumed.

    The optimizer (AdamW), LambdaLR scheduler and RNG states hold nothing else (the schedule's
    lambda is a function and is stored as None); a pickled object of any other class is refused.
    """
    import pickle

    import torch

    try:
        return torch.load(file, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        raise CheckpointRefused(f"checkpoint file {file.parent.name}/{file.name} holds more than tensors and plain "
                                f"values; it is not loaded ({str(exc).splitlines()[0][:200]})") from None


class CheckpointRefused(TrainerError):
    """A checkpoint file holds pickled objects that are not tensors or plain values."""

    kind = "spec"


def read_state(path: pathlib.Path) -> LoopState:
    return LoopState(**json.loads((path / STATE_FILE).read_text()))


def load_adapter_weights(path: pathlib.Path, model) -> None:
    """Put the LoRA weights saved at path back into the (PEFT) model."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(model, load_file(str(path / WEIGHTS_FILE)))


def remove_partial(output_dir: pathlib.Path) -> None:
    """Delete half-written checkpoint/adapter folders left by a killed run."""
    for parent in (output_dir, output_dir / "checkpoints"):
        if parent.is_dir():
            for child in parent.glob(".*.tmp"):
                shutil.rmtree(child, ignore_errors=True)


def _complete(output_dir: pathlib.Path) -> dict[int, pathlib.Path]:
    root = output_dir / "checkpoints"
    if not root.is_dir():
        return {}
    found = {}
    for child in root.iterdir():
        match = _STEP_DIR.match(child.name)
        if match and (child / STATE_FILE).exists():
            found[int(match.group(1))] = child
    return found


def _prune(output_dir: pathlib.Path, keep: set) -> None:
    steps = sorted(_complete(output_dir))
    for step in steps[:-KEEP_LAST]:
        if step not in keep:
            shutil.rmtree(checkpoint_dir(output_dir, step), ignore_errors=True)
