"""Dataset builds: queue a build, run the pipeline, write an immutable content-addressed snapshot.

A build moves queued -> running -> succeeded | failed through conditional updates, so a
repeated task does nothing. The JSONL file is written to a temporary file in the data root,
fsynced, hashed and renamed to datasets/<sha256>.jsonl; identical inputs and configuration
give identical bytes, so an existing snapshot with that hash is reused.
"""

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from curation.models import BuildStatus, DatasetBuild, DatasetSnapshot
from curation.pipeline.config import ConfigProblem, build_config
from curation.pipeline.exporters import EXPORTERS
from curation.pipeline.runner import EmptyDatasetError, run_pipeline
from curation.pipeline.sources import collect

logger = logging.getLogger(__name__)

DATASETS_SUBDIR = "datasets"


def datasets_dir() -> Path:
    return Path(settings.DATA_DIR) / DATASETS_SUBDIR


def start_build(user, *, name: str, format: str, overrides: dict | None = None, queue: bool = True) -> DatasetBuild:
    """Validate the request, record a queued build and (after commit) hand it to the worker."""
    name = (name or "").strip()
    problems = []
    if not name:
        problems.append("'name' is required")
    elif len(name) > 200:
        problems.append("'name' must be at most 200 characters")
    try:
        config = build_config({**(overrides or {}), "format": format})
    except ConfigProblem as exc:
        problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    build = DatasetBuild.objects.create(name=name, format=config["format"], config=config,
                                        created_by=user if user and user.is_authenticated else None)
    if queue:
        from curation.tasks.datasets import build_dataset_task

        transaction.on_commit(lambda: build_dataset_task.delay(build.pk))
    return build


def run_build(build_id: int) -> DatasetBuild | None:
    """Claim a queued build and run it to the end. Returns the build, or None if another worker has it."""
    claimed = DatasetBuild.objects.filter(pk=build_id, status=BuildStatus.QUEUED).update(
        status=BuildStatus.RUNNING, started_at=timezone.now(), progress=0.0)
    if claimed != 1:
        return None
    build = DatasetBuild.objects.get(pk=build_id)
    try:
        _run(build)
    except EmptyDatasetError as exc:
        _finish(build, BuildStatus.FAILED, error=str(exc), funnel=exc.funnel)
    except Exception as exc:  # a bug must still end the build; the traceback goes to the log only
        logger.exception("dataset build %s crashed", build_id)
        _finish(build, BuildStatus.FAILED, error=f"internal error: {type(exc).__name__}: {exc}")
    build.refresh_from_db()
    return build


def _progress(build: DatasetBuild, fraction: float) -> None:
    DatasetBuild.objects.filter(pk=build.pk, status=BuildStatus.RUNNING).update(progress=round(fraction, 3))


def _run(build: DatasetBuild) -> None:
    config = build.config
    examples = collect(config["sources"])
    _progress(build, 0.1)
    result = run_pipeline(examples, config, max_samples=settings.DATASET_FUNNEL_SAMPLES,
                          progress=lambda fraction: _progress(build, fraction))
    sha, relpath, created_file = write_snapshot_file(result.examples, config["format"])
    try:
        with transaction.atomic():
            snapshot, _ = DatasetSnapshot.objects.get_or_create(sha256=sha, defaults={
                "name": build.name, "format": config["format"], "path": relpath,
                "row_count": len(result.examples), "train_count": result.stats["per_split"].get("train", 0),
                "eval_count": result.stats["per_split"].get("eval", 0), "config": config,
                "stats": result.stats, "funnel": result.funnel, "created_by": build.created_by,
            })
            _finish(build, BuildStatus.SUCCEEDED, funnel=result.funnel, snapshot=snapshot)
    except BaseException:
        if created_file and not DatasetSnapshot.objects.filter(sha256=sha).exists():
            (Path(settings.DATA_DIR) / relpath).unlink(missing_ok=True)
        raise


def _finish(build: DatasetBuild, status: str, *, error: str = "", funnel: list | None = None, snapshot=None) -> None:
    changed = DatasetBuild.objects.filter(pk=build.pk, status=BuildStatus.RUNNING).update(
        status=status, error=error, funnel=funnel or [], snapshot=snapshot, finished_at=timezone.now(),
        progress=1.0 if status == BuildStatus.SUCCEEDED else build.progress)
    if changed != 1:
        logger.warning("dataset build %s was no longer running when it finished", build.pk)


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


def snapshot_file(snapshot: DatasetSnapshot) -> Path:
    """The snapshot's file, derived from its hash (never from request input)."""
    path = datasets_dir() / f"{snapshot.sha256}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"the file of dataset {snapshot.short_hash} is missing from the data root")
    return path


def preview_rows(snapshot: DatasetSnapshot, limit: int = 10) -> list[dict]:
    """The first `limit` rows of the snapshot, parsed."""
    rows = []
    with snapshot_file(snapshot).open("rb") as handle:
        for line in handle:
            rows.append(json.loads(line))
            if len(rows) >= limit:
                break
    return rows
