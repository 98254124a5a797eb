"""Dataset builds: queue a build, run the pipeline, write an immutable content-addressed snapshot.

A build is a job (jobs.lifecycle): queued -> running -> succeeded | failed (| cancelled |
lost) through conditional updates, so a repeated task does nothing. The JSONL file is
written to a temporary file in the data root, fsynced, hashed and renamed to
datasets/<sha256>.jsonl; identical inputs and configuration give identical bytes, so an
existing snapshot with that hash is reused (the file itself: curation.snapshots).
"""

import logging
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.roles import BUILD_DATASETS, require_unless_system
from artifacts import store as artifact_store
from curation.models import DatasetBuild, DatasetSnapshot
from curation.pipeline.config import ConfigProblem, build_config
from curation.pipeline.isolated import PipelineProcessError, run_pipeline_in_process
from curation.pipeline.runner import EmptyDatasetError, run_pipeline
from curation.services.sources import collect
from curation.shapes import check_build_config
from curation.snapshots import write_snapshot_file
from jobs import lifecycle
from jobs.runner import JobFailed, JobRunner

logger = logging.getLogger(__name__)


def start_build(user, *, name: str, format: str, overrides: dict | None = None, queue: bool = True) -> DatasetBuild:
    """Validate the request, check `user` may build datasets (None: the system itself, e.g. a command),
    record a queued build and (after commit) hand it to the worker."""
    require_unless_system(user, BUILD_DATASETS)
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
    check_build_config(config)  # what is stored fits the shape, whatever produced it
    with transaction.atomic():
        build = DatasetBuild.objects.create(name=name, format=config["format"], config=config,
                                            created_by=user if user and user.is_authenticated else None)
        if queue:
            lifecycle.enqueue(build)
    return build


def run_build(build_id: int, worker: str = "") -> DatasetBuild | None:
    """Claim a queued build and run it to the end. Returns the build, or None if another worker has it."""
    return BuildRunner(build_id, worker).handle()


class BuildRunner(JobRunner):
    """The pipeline's progress is the build's (a cancel stops it there); the snapshot is recorded as it ends."""

    model = DatasetBuild

    def run(self, build: DatasetBuild, progress) -> None:
        try:
            _run(build, progress)
        except EmptyDatasetError as exc:
            raise JobFailed(str(exc), funnel=exc.funnel) from exc

    def succeed(self, build: DatasetBuild, outcome) -> None:
        """_run() ended the build with its snapshot, in the transaction that recorded it."""

    def crash_message(self, exc: Exception) -> str:
        return "the build failed on an internal error; see the error details"

    def crash_details(self, exc: Exception) -> str:
        if isinstance(exc, PipelineProcessError) and exc.child_traceback:
            return f"; in the pipeline process:\n{exc.child_traceback}"
        return ""


def _run(build: DatasetBuild, progress) -> None:
    config = build.config
    examples = collect(config["sources"])
    progress(0.1)
    # In embedded mode the CPU stages run in a child process so the web server keeps answering.
    pipeline = run_pipeline_in_process if settings.DATASET_PIPELINE_PROCESS else run_pipeline
    result = pipeline(examples, config, max_samples=settings.DATASET_FUNNEL_SAMPLES, progress=progress)
    sha, relpath, created_file = write_snapshot_file(result.examples, config["format"])
    try:
        # Workers on other hosts fetch it from the artifact store (a no-op without a remote store).
        artifact_store.publish_file(relpath)
        with transaction.atomic():
            snapshot, _ = DatasetSnapshot.objects.get_or_create(sha256=sha, defaults={
                "name": build.name, "format": config["format"], "path": relpath,
                "row_count": len(result.examples), "train_count": result.stats["per_split"].get("train", 0),
                "eval_count": result.stats["per_split"].get("eval", 0), "config": config,
                "stats": result.stats, "funnel": result.funnel, "created_by": build.created_by,
            })
            lifecycle.finish(DatasetBuild, build.pk, funnel=result.funnel, snapshot=snapshot)
    except BaseException:
        if created_file and not DatasetSnapshot.objects.filter(sha256=sha).exists():
            (Path(settings.DATA_DIR) / relpath).unlink(missing_ok=True)
        raise
