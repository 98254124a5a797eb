"""Dataset builds: queue a build, run the pipeline, write an immutable content-addressed snapshot.

A build is a job (jobs.lifecycle): queued -> running -> succeeded | failed (| cancelled |
lost) through conditional updates, so a repeated task does nothing. The JSONL file is
written to a temporary file in the data root, fsynced, hashed and renamed to
datasets/<sha256>.jsonl; identical inputs and configuration give identical bytes, so an
existing snapshot with that hash is reused (the file itself: curation.snapshots).
"""

import logging
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from artifacts import store as artifact_store
from curation.models import DatasetBuild, DatasetSnapshot
from curation.pipeline.config import ConfigProblem, build_config
from curation.pipeline.isolated import PipelineProcessError, run_pipeline_in_process
from curation.pipeline.runner import EmptyDatasetError, run_pipeline
from curation.services.sources import collect
from curation.shapes import check_build_config
from curation.snapshots import write_snapshot_file
from jobs import lifecycle
from jobs.models import JobStatus

logger = logging.getLogger(__name__)


class BuildCancelled(Exception):
    """The build's cancel flag was set; raised from the progress callback to stop the pipeline."""


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
    check_build_config(config)  # what is stored fits the shape, whatever produced it
    with transaction.atomic():
        build = DatasetBuild.objects.create(name=name, format=config["format"], config=config,
                                            created_by=user if user and user.is_authenticated else None)
        if queue:
            lifecycle.enqueue(build)
    return build


def run_build(build_id: int, worker: str = "") -> DatasetBuild | None:
    """Claim a queued build and run it to the end. Returns the build, or None if another worker has it."""
    if lifecycle.claim(DatasetBuild, build_id, worker=worker) is None:
        return None
    build = DatasetBuild.objects.get(pk=build_id)
    try:
        _run(build)
    except EmptyDatasetError as exc:
        lifecycle.fail(DatasetBuild, build_id, error=str(exc), human_error=str(exc)[:500], funnel=exc.funnel)
    except BuildCancelled:
        lifecycle.finish(DatasetBuild, build_id, status=JobStatus.CANCELLED, human_error="cancelled")
    except Exception as exc:  # a bug must still end the build; the traceback goes to the log only
        # Users read the build's error: one line there; tracebacks (the child's too) go to the log only.
        logger.exception("dataset build %s crashed%s", build_id, f"; in the pipeline process:\n{exc.child_traceback}"
                         if isinstance(exc, PipelineProcessError) and exc.child_traceback else "")
        lifecycle.fail(DatasetBuild, build_id, error=f"internal error: {type(exc).__name__}: {exc}",
                       human_error="the build failed on an internal error; see the error details")
    build.refresh_from_db()
    return build


class _Progress:
    """Progress callback: reports at most every 0.2 s (each report is a heartbeat), stops on cancel."""

    def __init__(self, build_id: int):
        self.build_id = build_id
        self.last = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and fraction < 1.0:
            return
        self.last = now
        lifecycle.report_progress(DatasetBuild, self.build_id, round(fraction, 3))
        if DatasetBuild.objects.filter(pk=self.build_id, cancel_requested=True).exists():
            raise BuildCancelled()


def _run(build: DatasetBuild) -> None:
    config = build.config
    progress = _Progress(build.pk)
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
