"""Snapshot files: datasets/<sha256>.jsonl under the data root, written atomically and found by hash.

A file is written to a temporary name in the same folder, fsynced, hashed and renamed to its
hash, so identical rows give the identical file; `remove_stale_temp_files` clears what a build
that died mid-write left. No database access: the models and the build service both use this.
"""

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from django.conf import settings

from curation.pipeline.exporters import EXPORTERS

DATASETS_SUBDIR = "datasets"
TEMP_PATTERN = ".build-*.tmp"


def datasets_dir() -> Path:
    return Path(settings.DATA_DIR) / DATASETS_SUBDIR


def write_snapshot_file(examples: list, format: str) -> tuple[str, str, bool]:
    """Write the rows atomically; return (sha256, path relative to the data root, whether the file is new)."""
    exporter = EXPORTERS[format]()
    folder = datasets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".build-", suffix=".tmp")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as handle:
            for example in examples:
                line = exporter.line(example)
                digest.update(line)
                handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        sha = digest.hexdigest()
        final = folder / f"{sha}.jsonl"
        created = not final.exists()
        os.replace(tmp_name, final)
        _fsync_dir(folder)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return sha, f"{DATASETS_SUBDIR}/{sha}.jsonl", created


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def snapshot_file(snapshot) -> Path:
    """A DatasetSnapshot's file, derived from its hash (never from request input)."""
    path = datasets_dir() / f"{snapshot.sha256}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"the file of dataset {snapshot.short_hash} is missing from the data root")
    return path


def preview_rows(snapshot, limit: int = 10) -> list[dict]:
    """The first `limit` rows of the snapshot, parsed."""
    rows = []
    with snapshot_file(snapshot).open("rb") as handle:
        for line in handle:
            rows.append(json.loads(line))
            if len(rows) >= limit:
                break
    return rows


def remove_stale_temp_files(*, older_than_seconds: float) -> list[str]:
    """Remove half-written snapshot files (a build died mid-write) older than the given age."""
    folder = datasets_dir()
    cutoff = time.time() - older_than_seconds
    removed = []
    for path in folder.glob(TEMP_PATTERN) if folder.is_dir() else ():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path.name)
        except FileNotFoundError:  # a concurrent build renamed or removed it
            continue
    return removed
