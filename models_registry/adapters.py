"""Adapter folders on disk: where they are, what they hold, whether they are intact."""

import hashlib
import json
from pathlib import Path

from django.conf import settings

from artifacts import store as artifact_store

METADATA_FILE = "academy_adapter.json"


class AdapterError(ValueError):
    """An adapter folder is missing, altered or unreadable; the message names the file."""


def data_path(relative: str) -> Path:
    """Resolve a path stored relative to the data root, refusing anything outside it."""
    root = Path(settings.DATA_DIR).resolve()
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise AdapterError(f"{relative!r} is outside the data root")
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_folder(folder: Path) -> dict[str, str]:
    """{file name: sha256} for every regular file directly inside the adapter folder."""
    if not folder.is_dir():
        raise AdapterError(f"adapter folder {folder.name!r} does not exist")
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}


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
        if not path.is_file():
            raise AdapterError(f"adapter file {name} is missing from {adapter_dir}")
        if sha256_file(path) != sha:
            raise AdapterError(f"adapter file {name} was altered (sha256 no longer matches)")


def read_metadata(folder: Path) -> dict:
    path = folder / METADATA_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise AdapterError(f"{METADATA_FILE} is missing from the adapter folder") from None
    except ValueError as exc:
        raise AdapterError(f"{METADATA_FILE} is not valid JSON: {exc}") from None
