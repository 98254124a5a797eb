"""Where a snapshot's file lives, and proof that it is the file the snapshot names."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from artifacts import store as artifacts
from artifacts.hashing import file_sha256


def data_root() -> Path:
    return Path(settings.DATA_DIR).resolve()


def snapshot_file(dataset) -> Path:
    """The snapshot's JSONL file, refusing paths that leave the data root."""
    root = data_root()
    path = (root / dataset.path).resolve()
    if not path.is_relative_to(root):
        raise ValidationError({"dataset": f"dataset {dataset.short_hash} points outside the data root"})
    return path


def verify_snapshot(dataset) -> Path:
    """Return the snapshot file after checking it exists and its sha256 matches; else ValidationError.

    With a remote artifact store the file is fetched into this host's cache first.
    """
    if artifacts.is_remote():
        try:
            return artifacts.fetch_file(dataset.path, dataset.sha256)
        except artifacts.ArtifactMissing as exc:
            raise ValidationError({"dataset": f"dataset {dataset.short_hash}: {exc}; refusing to train on it"
                                   }) from None
    path = snapshot_file(dataset)
    if not path.is_file():
        raise ValidationError({"dataset": f"dataset file {dataset.path} is missing from the data root"})
    actual = file_sha256(path)
    if actual != dataset.sha256:
        raise ValidationError({"dataset": f"dataset file {dataset.path} does not match its hash: expected "
                                          f"{dataset.sha256[:12]}, found {actual[:12]}; refusing to train on it"})
    return path
