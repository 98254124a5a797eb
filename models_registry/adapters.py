"""Adapter folders on disk: where they are, what they hold, whether they are intact."""

import json
import os
from pathlib import Path

from django.conf import settings

from artifacts import store as artifact_store
from artifacts.hashing import file_sha256, folder_hashes
from training.trainer.run import METADATA_FILE


class AdapterError(ValueError):
    """An adapter folder is missing, altered or unreadable; the message names the file."""


def data_path(relative: str) -> Path:
    """Resolve a path stored relative to the data root, refusing anything outside it."""
    root = Path(settings.DATA_DIR).resolve()
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise AdapterError(f"{relative!r} is outside the data root")
    return path


def hash_folder(folder: Path) -> dict[str, str]:
    """{file name: sha256} of the adapter folder's files (artifacts.hashing's one shape).

    A folder holding any symbolic link is refused: a link would let a registered adapter
    read (and later serve or copy out) any file the server can read.
    """
    if not folder.is_dir():
        raise AdapterError(f"adapter folder {folder.name!r} does not exist")
    refuse_links(folder)
    return folder_hashes(folder)


def refuse_links(folder: Path) -> None:
    """Raise AdapterError naming the first symbolic link found anywhere in `folder` (links are not followed)."""
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(top) / name
            if path.is_symlink():
                raise AdapterError(f"adapter folder holds a symbolic link, {path.relative_to(folder).as_posix()}: "
                                   "links are refused; copy the file into the folder instead")


def verify(adapter_dir: str, expected: dict[str, str]) -> None:
    """Raise AdapterError naming the first missing or altered file.

    With a remote artifact store, missing files are fetched into this host's cache first.
    """
    folder = data_path(adapter_dir)
    if not expected:
        raise AdapterError(f"no file hashes recorded for {adapter_dir}")
    if artifact_store.is_remote():
        try:
            artifact_store.fetch_folder(adapter_dir, expected)
        except artifact_store.ArtifactMissing as exc:
            raise AdapterError(str(exc)) from None
    for name, sha in sorted(expected.items()):
        path = folder / name
        if path.is_symlink():
            raise AdapterError(f"adapter file {name} in {adapter_dir} was replaced by a symbolic link")
        if not path.is_file():
            raise AdapterError(f"adapter file {name} is missing from {adapter_dir}")
        if file_sha256(path) != sha:
            raise AdapterError(f"adapter file {name} was altered (sha256 no longer matches)")


def local_folder(version) -> Path:
    """This host's folder of `version`'s adapter, every file sha256-checked against the version's record.

    The one way every consumer (the Arena, serving, Ollama and runtime exports, export_merged,
    modelfile) reaches an adapter: with a remote artifact store, files missing or different
    here are fetched first, so a version trained on another host loads here too.
    Raises AdapterError naming the first file that is missing or altered.
    """
    verify(version.adapter_dir, version.adapter_files)
    return data_path(version.adapter_dir)


def run_folder(run, adapter_dir: str) -> Path:
    """This host's folder `adapter_dir` of a succeeded run's adapter: with a remote artifact store,
    fetched by the hashes the run recorded when its worker uploaded it (training.execution)."""
    recorded = run.artifacts or {}
    if artifact_store.is_remote() and recorded.get("adapter") and recorded.get("adapter_dir") == adapter_dir:
        verify(adapter_dir, recorded["adapter"])
    return data_path(adapter_dir)


def base_model_folder(version) -> Path | None:
    """This host's folder of `version`'s base model, fetched through the artifact store (every file
    sha256-checked) where it is missing or different here: by the hashes the run that trained it
    recorded when it carried the base there, else by the stored name and the version's manifest digest.
    None: neither here nor in the store (a Hugging Face id). Raises AdapterError when it cannot be fetched."""
    from training import model_store

    run = version.training_run if version.training_run_id else None
    carried = (run.artifacts or {}).get("base_model") if run is not None else None
    digest = ((version.metrics or {}).get("base_model") or {}).get("digest")
    try:
        return model_store.local_folder(version.base_model, carried=carried, digest=digest)
    except model_store.BaseModelMissing as exc:
        raise AdapterError(str(exc)) from None


def base_model_source(version) -> str:
    """What this host loads as `version`'s base model: its folder (base_model_folder), else the
    name as recorded (a Hugging Face id the loader finds by itself)."""
    folder = base_model_folder(version)
    return str(folder) if folder is not None else version.base_model


def read_metadata(folder: Path) -> dict:
    path = folder / METADATA_FILE
    if path.is_symlink():
        raise AdapterError(f"{METADATA_FILE} is a symbolic link: links are refused")
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise AdapterError(f"{METADATA_FILE} is missing from the adapter folder") from None
    except ValueError as exc:
        raise AdapterError(f"{METADATA_FILE} is not valid JSON: {exc}") from None


def base_model_identity(meta: dict, fallback: str) -> dict:
    """{"name", "digest"} of the base model an adapter was trained on, as registration records it.

    The trainer writes a stored model's short name and snapshot digest; a host path in older
    metadata (or in a folder made elsewhere) gives way to the run's own base model, which is
    the name the operator chose. The digest is kept only with the trainer's name.
    """
    name = meta.get("base_model")
    digest = meta.get("base_model_digest")
    if not isinstance(name, str) or not name or _is_host_path(name):
        return {"name": fallback, "digest": None}
    return {"name": name, "digest": digest if isinstance(digest, str) and digest else None}


def _is_host_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or "\\" in value
