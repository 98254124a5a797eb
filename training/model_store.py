"""Base models stored under one models root, fetched once where the network allows.

`manage.py fetch_base_model ID` downloads a Hugging Face snapshot into
<DATA_DIR>/models/<org>--<name>/ and writes academy_manifest.json there: the id, the revision
and a sha256 of every file. Training containers mount the models root read-only with the
Hugging Face cache variables pointing at it and the hub offline, so a run never downloads
anything; a run on a base model that is not stored is refused before its container starts,
with the command that fixes it.
"""

from __future__ import annotations

import json
import pathlib
import shutil

from django.conf import settings

from artifacts.hashing import file_sha256

MANIFEST = "academy_manifest.json"


class BaseModelMissing(RuntimeError):
    """The base model is neither a local folder nor stored under the models root."""


def models_root() -> pathlib.Path:
    """<DATA_DIR>/models: shared by every host, already an allowed root for local base models."""
    return pathlib.Path(settings.DATA_DIR) / "models"


def folder_name(model_id: str) -> str:
    """Where a Hugging Face id lives under the models root (the hub cache's own spelling)."""
    return model_id.strip("/").replace("/", "--")


def stored_path(model_id: str) -> pathlib.Path:
    return models_root() / folder_name(model_id)


def is_local_path(base_model: str) -> bool:
    return base_model.startswith(("/", "./", "../", "~"))


def resolve(base_model: str) -> pathlib.Path | None:
    """The folder holding base_model's files (config.json), or None when it is not here."""
    if not base_model:
        return None
    candidates = [pathlib.Path(base_model).expanduser()] if is_local_path(base_model) else []
    candidates.append(stored_path(base_model))
    return next((c for c in candidates if (c / "config.json").is_file()), None)


def require(base_model: str) -> pathlib.Path | None:
    """The stored folder of a Hugging Face id; raises BaseModelMissing with the fix.

    Local paths are returned when they hold a model; None for ids a run may download
    itself (the caller decides whether the network is allowed).
    """
    found = resolve(base_model)
    if found is not None:
        return found
    if is_local_path(base_model):
        raise BaseModelMissing(f"base model folder {base_model} has no config.json")
    raise BaseModelMissing(
        f"base model {base_model} is not stored under {models_root()} and training containers have no network; "
        f"fetch it once where the network allows: python manage.py fetch_base_model {base_model}")


def config(base_model: str) -> dict | None:
    """The base model's config.json, when its files are here."""
    folder = resolve(base_model)
    if folder is None:
        return None
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None


def fetch(model_id: str, *, revision: str | None = None, token: str | None = None) -> pathlib.Path:
    """Download a snapshot into the models root and write its sha256 manifest."""
    from huggingface_hub import snapshot_download

    target = stored_path(model_id)
    staging = target.with_name(f".{target.name}.partial")
    staging.mkdir(parents=True, exist_ok=True)  # kept across attempts: the hub resumes into it
    snapshot_download(repo_id=model_id, revision=revision, local_dir=str(staging), token=token)
    shutil.rmtree(staging / ".cache", ignore_errors=True)
    write_manifest(staging, model_id=model_id, revision=revision)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def write_manifest(folder: pathlib.Path, *, model_id: str, revision: str | None) -> dict:
    files = {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*"))
             if p.is_file() and p.name != MANIFEST}
    manifest = {"model_id": model_id, "revision": revision, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def verify(folder: pathlib.Path) -> list[str]:
    """Files that are missing or differ from the manifest (empty: intact)."""
    manifest = json.loads((folder / MANIFEST).read_text())
    return [name for name, sha in manifest["files"].items()
            if not (folder / name).is_file() or file_sha256(folder / name) != sha]
