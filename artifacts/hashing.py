"""The one hashing helper: sha256 of a file, and of every file in a folder.

No Django import, so the trainer side may use it too. Folder results always have one
shape: {path relative to the folder, with "/" separators: sha256 hex}.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def folder_hashes(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under `folder` (sub-folders included), sorted."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}
