"""A run's latest checkpoint in the artifact store, so that a retry on any host resumes from it.

The trainer saves checkpoints under its run folder (runs/<id>/checkpoints/step-N). While the
run trains, the worker uploads the newest complete one through the artifact layer at most
once every TRAINING_CHECKPOINT_UPLOAD_SECONDS (the first at once), and always the newest one
when the attempt ends without success (a stop on SIGTERM, a crash). Only the latest stays in
the store: once the new one is recorded on the run, the older ones there are deleted. The
record, `run.artifacts["checkpoint"]`, is

    {"step": 40, "key": "runs/12/checkpoints/step-40", "files": {"optimizer.pt": "<sha256>", ...}}

and the next attempt, on whatever host, fetches those files (each sha256-checked) into its own
run folder before the trainer starts, which then resumes from the newest checkpoint it finds.

Without a remote store the data root is shared by every host that runs work: nothing is
uploaded or fetched while the run trains (the trainer finds its checkpoints in the shared run
folder, and the run's list of checkpoints says which step a retry resumes from); the record,
without hashes, is written once when an attempt ends without success.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from artifacts import store as artifact_store
from training.models import TrainingRun
from training.shapes import check_artifacts
from training.trainer import checkpoints

logger = logging.getLogger(__name__)

# Hard links of a checkpoint being uploaded, beside it; the trainer removes leftovers (".*.tmp") at start.
_STAGE = ".upload-{name}.tmp"


class CheckpointUploader:
    """The latest checkpoint of one attempt, uploaded throttled; call `saved()` on each checkpoint event,
    `upload_if_due()` now and then, and `upload()` when the attempt ends without success."""

    def __init__(self, run: TrainingRun, run_dir: Path, *, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic, before_upload: Callable[[], None] | None = None):
        self.run_id = run.pk
        self.before_upload = before_upload
        self.run_dir = run_dir
        self.folder_key = f"{run.run_dir}/checkpoints"
        self.remote = artifact_store.is_remote()
        self.interval = settings.TRAINING_CHECKPOINT_UPLOAD_SECONDS if interval is None else interval
        self.clock = clock
        self.record: dict | None = (run.artifacts or {}).get("checkpoint")
        self._last_upload: float | None = None
        self._pending = False

    def saved(self) -> None:
        """The trainer saved a checkpoint: upload the newest one now if the last upload is old enough
        (nothing while it trains without a remote store: the run folder is shared)."""
        self._pending = self.remote
        self.upload_if_due()

    def upload_if_due(self) -> None:
        if self._pending and (self._last_upload is None or self.clock() - self._last_upload >= self.interval):
            self.upload()

    def upload(self) -> dict | None:
        """Upload and record the newest complete checkpoint in the run folder (when it is not the recorded one),
        then delete the older ones from the store; returns the record.

        A store that fails is logged and leaves the previous record: training goes on.
        """
        self._pending = False
        self._last_upload = self.clock()
        if self.before_upload is not None:
            self.before_upload()
        try:
            return self._upload_newest()
        except Exception:
            logger.exception("run %s: uploading its checkpoint failed; a retry resumes from the one recorded "
                             "before (step %s)", self.run_id, (self.record or {}).get("step"))
            return self.record

    def _upload_newest(self) -> dict | None:
        # The trainer keeps saving and pruning meanwhile: a checkpoint removed while it is being
        # linked is skipped for the newer one that replaced it.
        for _ in range(5):
            path = checkpoints.latest(self.run_dir)
            if path is None:
                return self.record
            try:
                step = checkpoints.read_state(path).step
            except FileNotFoundError:
                continue
            key = f"{self.folder_key}/{path.name}"
            if self.record and self.record.get("key") == key and (self.record.get("files") or not self.remote):
                return self.record
            files = self._publish(path, key) if self.remote else {}
            if files is None:
                continue
            self._store({"step": step, "key": key, "files": files})
            removed = artifact_store.remove_folders(self.folder_key, keep=(path.name,))
            if removed:
                logger.info("run %s: checkpoint step %s uploaded; removed %s from the store", self.run_id, step,
                            ", ".join(removed))
            return self.record
        logger.warning("run %s: no checkpoint stayed in place long enough to be uploaded", self.run_id)
        return self.record

    def _publish(self, path: Path, key: str) -> dict[str, str] | None:
        """Upload a still copy (hard links: a checkpoint's files never change once it is in place)."""
        stage = path.parent / _STAGE.format(name=path.name)
        shutil.rmtree(stage, ignore_errors=True)
        try:
            try:
                for file in sorted(path.rglob("*")):
                    if file.is_file():
                        target = stage / file.relative_to(path)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        os.link(file, target)
            except FileNotFoundError:
                return None
            if not all((stage / name).is_file() for name in checkpoints.FILES):
                return None
            return artifact_store.publish_folder_from(stage, key)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def _store(self, record: dict) -> None:
        with transaction.atomic():
            current = TrainingRun.objects.select_for_update().filter(pk=self.run_id).values_list(
                "artifacts", flat=True).first()
            artifacts = {**(current or {}), "checkpoint": record}
            check_artifacts(artifacts)
            TrainingRun.objects.filter(pk=self.run_id).update(artifacts=artifacts)
        self.record = record


def fetch_for_resume(run: TrainingRun) -> str:
    """Put the run's recorded checkpoint into this host's run folder (fetched from the store, each file
    checked); returns a warning in plain words when it cannot ("" when fetched or there is nothing to fetch)."""
    record = (run.artifacts or {}).get("checkpoint")
    if not record or not record.get("files") or not artifact_store.is_remote():
        return ""
    if not str(record.get("key", "")).startswith(f"{run.run_dir}/checkpoints/"):
        return f"the recorded checkpoint {record.get('key')!r} is not in this run's folder; it is not used"
    files = dict(record["files"])
    # The state file last: a fetch cut short leaves a folder the trainer does not take as a checkpoint.
    ordered = {name: sha for name, sha in files.items() if name != checkpoints.STATE_FILE}
    if checkpoints.STATE_FILE in files:
        ordered[checkpoints.STATE_FILE] = files[checkpoints.STATE_FILE]
    try:
        artifact_store.fetch_folder(record["key"], ordered)
    except artifact_store.ArtifactMissing as exc:
        return (f"the checkpoint at step {record.get('step')} could not be fetched ({exc}); the trainer resumes "
                "from a checkpoint this host has, or starts over")
    return ""


def forget(run: TrainingRun) -> None:
    """The run ended for good (succeeded, cancelled): its checkpoints leave the store (this host keeps its own)."""
    try:
        artifact_store.remove_folders(f"{run.run_dir}/checkpoints")
    except Exception:
        logger.exception("run %s: could not remove its checkpoints from the artifact store", run.pk)


def resume_step(run: TrainingRun) -> int | None:
    """The step a retry of the run resumes from (None: it starts over, no checkpoint was kept)."""
    artifacts = run.artifacts or {}
    recorded = (artifacts.get("checkpoint") or {}).get("step")
    if artifact_store.is_remote():
        return recorded
    # The shared run folder holds every checkpoint the trainer reported (the newest two are kept).
    steps = [c.get("step") for c in artifacts.get("checkpoints") or [] if isinstance(c.get("step"), int)]
    newest = max([*steps, recorded or 0])
    return newest or None


def resume_note(run: TrainingRun) -> str:
    """What a retry (or the next attempt of a run handed back to the queue) starts from, in plain words."""
    if not (run.is_retryable or (run.status == "queued" and run.attempt)):
        return ""
    step = resume_step(run)
    subject = "A retry" if run.is_retryable else "The next attempt"
    if step:
        return f"{subject} resumes from its checkpoint at step {step}, on whichever worker takes it."
    return f"{subject} starts over from step 0: no checkpoint of this run was kept."


def resume_panel(request, run: TrainingRun) -> str | None:
    """The run page's line saying where a retry (or the next attempt) starts."""
    note = resume_note(run)
    return render_to_string("training/live/_resume.html", {"note": note}, request=request) if note else None
