"""The artifact store: how dataset snapshots, adapters and base models travel between hosts.

Keys are the paths the database already stores, relative to the data root
("datasets/<sha256>.jsonl", "runs/12/adapter/adapter_model.safetensors", "models/<name>/config.json").

- No ARTIFACT_STORE_URL (the default, and embedded mode): the data root itself is the store.
  Every host that runs work shares it (one machine, or a shared filesystem); publishing
  does nothing and fetching only checks the sha256 of the file already there.
- ARTIFACT_STORE_URL=s3://bucket/prefix: an S3-compatible object store (AWS S3, MinIO, Ceph
  RGW, ...) through fsspec's s3fs. Each host's data root becomes its own cache: `publish_*`
  uploads what this host wrote; `fetch_*` downloads what the cache lacks (or holds with the
  wrong content) next to its final place, checks the sha256, then renames it into place, so
  nothing reads an unverified or half-written file.

This is the only module that talks to fsspec.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from django.conf import settings

from artifacts.hashing import file_sha256, folder_hashes  # noqa: F401 (part of this module's API)

_filesystem = None


class ArtifactMissing(Exception):
    """Neither this host's cache nor the store holds the artifact with the expected content."""


def is_remote() -> bool:
    return bool(settings.ARTIFACT_STORE_URL)


def data_root() -> Path:
    return Path(settings.DATA_DIR).resolve()


def local_path(key: str) -> Path:
    """The artifact's place under this host's data root (keys that leave the root are refused)."""
    root = data_root()
    path = (root / key).resolve()
    if not path.is_relative_to(root) or path == root:
        raise ArtifactMissing(f"{key!r} is not a path inside the data root")
    return path


# ---------------------------------------------------------------------------- publish
def publish_file(key: str) -> None:
    """Upload the file at `key` under this host's data root (nothing to do without a remote store)."""
    if not is_remote():
        return
    path = local_path(key)
    _fs().put_file(str(path), _remote(key))


def publish_folder(key: str) -> dict[str, str]:
    """Upload every file of the folder at `key`; returns their hashes (for fetch_folder)."""
    folder = local_path(key)
    hashes = folder_hashes(folder)
    if is_remote():
        for name in hashes:
            _fs().put_file(str(folder / name), _remote(f"{key}/{name}"))
    return hashes


def publish_folder_from(source: Path, key: str) -> dict[str, str]:
    """Upload every file of `source` (a folder on this host, e.g. a snapshot of one that may change) as the
    folder `key`; returns their hashes (for fetch_folder). Nothing is uploaded without a remote store."""
    hashes = folder_hashes(source)
    if is_remote():
        for name in hashes:
            _fs().put_file(str(source / name), _remote(f"{key}/{name}"))
    return hashes


def remove_folders(key: str, *, keep: tuple[str, ...] = ()) -> list[str]:
    """Delete from the remote store every entry directly under the folder `key` except those named in `keep`;
    returns the names deleted (none without a remote store: this host's copies are left alone)."""
    if not is_remote():
        return []
    base = _remote(key).rstrip("/")
    try:
        entries = _fs().ls(base, detail=False, refresh=True)
    except FileNotFoundError:
        return []
    removed = []
    for entry in entries:
        name = entry.rstrip("/").rsplit("/", 1)[-1]
        if name and name not in keep:
            _fs().rm(f"{base}/{name}", recursive=True)
            removed.append(name)
    return removed


# ---------------------------------------------------------------------------- fetch
def fetch_file(key: str, sha256: str) -> Path:
    """This host's copy of `key`, checked against sha256 (downloaded first when a remote store has it)."""
    path = local_path(key)
    if path.is_file():
        actual = file_sha256(path)
        if actual == sha256:
            return path
        if not is_remote():
            raise ArtifactMissing(f"{key} does not match its hash: expected {sha256[:12]}, found {actual[:12]}")
    elif not is_remote():
        raise ArtifactMissing(f"{key} is missing from the data root")
    return _download(key, path, sha256)


def fetch_folder(key: str, files: dict[str, str]) -> Path:
    """This host's copy of the folder `key` holding exactly-hashed `files` ({relative path: sha256})."""
    if not files:
        raise ArtifactMissing(f"no file hashes recorded for {key}")
    for name, sha256 in files.items():
        fetch_file(f"{key}/{name}", sha256)
    return local_path(key)


def read_remote(key: str) -> bytes:
    """The bytes of `key` in the remote store, unchecked: only for a manifest the caller checks itself
    (against a digest it already holds) before fetching the files the manifest hashes."""
    if not is_remote():
        raise ArtifactMissing(f"{key}: there is no remote artifact store (ARTIFACT_STORE_URL is empty)")
    try:
        return _fs().cat_file(_remote(key))
    except FileNotFoundError:
        raise ArtifactMissing(f"{key} is not in the artifact store") from None


def _download(key: str, path: Path, sha256: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.part"
    try:
        try:
            _fs().get_file(_remote(key), str(partial))
        except FileNotFoundError:
            raise ArtifactMissing(f"{key} is neither in this host's cache nor in the artifact store") from None
        actual = file_sha256(partial)
        if actual != sha256:
            raise ArtifactMissing(f"{key} in the artifact store does not match its hash: expected {sha256[:12]}, "
                                  f"found {actual[:12]}")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------------------- the remote side
def _remote(key: str) -> str:
    base = settings.ARTIFACT_STORE_URL.removeprefix("s3://").rstrip("/")
    return f"{base}/{key.lstrip('/')}"


def _fs():
    global _filesystem
    if _filesystem is None or getattr(_filesystem, "_academy_config", None) != _config():
        import s3fs

        key, secret, endpoint, region = _config()
        client_kwargs = {"region_name": region} if region else {}
        if endpoint:
            client_kwargs["endpoint_url"] = endpoint
        filesystem = s3fs.S3FileSystem(key=key or None, secret=secret or None, client_kwargs=client_kwargs,
                                       skip_instance_cache=True)
        filesystem._academy_config = _config()
        _filesystem = filesystem
    return _filesystem


def _config() -> tuple:
    return (settings.ARTIFACT_STORE_ACCESS_KEY_ID, settings.ARTIFACT_STORE_SECRET_ACCESS_KEY,
            settings.ARTIFACT_STORE_ENDPOINT_URL, settings.ARTIFACT_STORE_REGION)
