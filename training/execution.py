"""Executing one claimed run on this worker: spec, launch, stream, cancel, finish with checked artifacts.

When the worker shuts down (training.worker_host.shutdown_requested) the trainer gets SIGTERM,
stops at its next step with a checkpoint, and the run goes back to the queue with that
checkpoint uploaded (training.checkpoint_store), so the worker exits in seconds and the next
worker, on any host, resumes the run there.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from artifacts import store as artifact_store
from artifacts.store import ArtifactMissing
from jobs.models import JobStatus
from jobs.runner import JobFailed, JobRunner
from training import checkpoint_store, worker_host
from training.backends import BackendUnavailable, Layout, choose_backend
from training.backends.base import LogLine
from training.ingest import RunIngestor
from training.models import TrainingRun
from training.services import claim_run, finish_run, hand_back_run, mark_running, touch_heartbeat
from training.services.datasets import data_root, verify_snapshot
from training.services.runs import RUN_ONLY_KEYS
from training.shapes import check_artifacts
from training.trainer.errors import OOM_MESSAGE
from training.trainer.run import ADAPTER_FILES
from training.trainer.stopping import EXIT_CODE as STOPPED_EXIT_CODE

logger = logging.getLogger(__name__)
LOG_FILE = "trainer.log"


def execute(run_id: int, worker: str, on_event=None) -> str | None:
    """Claim and run to the end; returns the final status, or None when the run was not ours to claim.

    on_event, when given, is called with each protocol event as it arrives (the CLI prints progress with it).
    """
    run = RunRunner(run_id, worker, on_event).handle()
    return run.status if run is not None else None


class RunRunner(JobRunner):
    """A run is claimed as preparing (it resumes at its checkpoint's progress); how it ends (succeeded,
    failed, cancelled, or back to the queue) is decided by its trainer's exit, so run() ends it itself.
    Its progress comes from the trainer's own lines (training.ingest), its cancel check from the stream."""

    model = TrainingRun

    def __init__(self, run_id: int, worker: str, on_event=None):
        super().__init__(run_id, worker)
        self.on_event = on_event

    def claim(self) -> TrainingRun | None:
        return claim_run(self.pk, self.worker)

    def run(self, run: TrainingRun, progress) -> None:
        _execute_claimed(run, self.on_event)

    def succeed(self, run: TrainingRun, outcome) -> None:
        """run() ended the run."""

    def crash_message(self, exc: Exception) -> str:
        return "the worker failed while running it: see the error"


def _execute_claimed(run: TrainingRun, on_event=None) -> str:
    try:
        dataset_path = verify_snapshot(run.dataset)
        base_model, local_model = _base_model(run)
        backend_cls = choose_backend(run.requested_backend, settings.TRAINING_BACKEND,
                                     allow_fallback=settings.TRAINING_ALLOW_LOCAL_FALLBACK)
    except ValidationError as exc:
        raise JobFailed("dataset refused: " + " ".join(exc.messages), error=" ".join(exc.messages)) from exc
    except ArtifactMissing as exc:
        raise JobFailed(f"base model refused: {exc}", error=str(exc)) from exc
    except BackendUnavailable as exc:
        raise JobFailed(str(exc)) from exc
    run_dir = data_root() / run.run_dir
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    if reason := worker_host.shutdown_requested():
        return _hand_back(run, reason, (run.artifacts or {}).get("checkpoint"))
    fetch_warning = checkpoint_store.fetch_for_resume(run)
    backend = backend_cls(run.pk, Layout(run_dir=run_dir, dataset=dataset_path, base_model=base_model,
                                         local_model=local_model))
    hp = {k: v for k, v in run.hyperparameters.items() if k not in RUN_ONLY_KEYS}
    (run_dir / "spec.json").write_text(json.dumps(backend.spec(hp, run.dataset.sha256), indent=2), encoding="utf-8")
    try:
        launched = backend.start()
    except BackendUnavailable as exc:
        backend.cleanup()
        raise JobFailed(str(exc)) from exc
    try:
        mark_running(run.pk, backend=backend.kind, **launched)
        ingestor = RunIngestor(run)
        if fetch_warning:
            ingestor.feed(LogLine(f"[worker] {fetch_warning}"))
        # The checkpoint's points are stored before the checkpoint is recorded: none is lost on resume.
        uploader = checkpoint_store.CheckpointUploader(run, run_dir, before_upload=ingestor.flush)
        cancelled, stop_reason = _stream(run, backend, ingestor, uploader, run_dir / LOG_FILE, on_event)
        exit_code = backend.wait(timeout=120)
    except BaseException:
        # Whatever broke on our side, the trainer must not outlive the attempt.
        backend.cancel(settings.TRAINING_CANCEL_GRACE_SECONDS)
        raise
    finally:
        backend.cleanup()
    return _conclude(run, run_dir, ingestor, exit_code, cancelled, uploader, stop_reason)


def _base_model(run: TrainingRun) -> tuple[str, Path | None]:
    """The base model as this host sees it: one the run carries in the artifact store is fetched first."""
    stored = (run.artifacts or {}).get("base_model")
    if stored:
        folder = artifact_store.fetch_folder(stored["key"], stored["files"])
        return str(folder), folder
    return run.base_model, _local_model(run.base_model)


def _local_model(base_model: str) -> Path | None:
    path = Path(base_model)
    return path if path.is_absolute() and path.is_dir() else None


def _stream(run: TrainingRun, backend, ingestor: RunIngestor, uploader, log_path: Path,
            on_event=None) -> tuple[bool, str]:
    """Read output until it ends; stop the trainer when the run's cancel flag is set or the worker shuts down.

    Returns whether it was cancelled, and why the worker stopped it ("" when it did not).
    """
    backend.start_reader()
    poll = settings.TRAINING_CANCEL_POLL_SECONDS
    next_check = time.monotonic() + poll
    cancelled = False
    stop_reason = ""
    # Line-buffered: a killed worker loses no line the trainer printed before.
    with open(log_path, "a", encoding="utf-8", buffering=1) as log:
        while True:
            lines, ended = backend.next_lines(timeout=min(poll, 0.25))
            for line in lines:
                log.write(line.rstrip("\n") + "\n")
                event = ingestor.feed(line)
                if event is not None and event["event"] == "checkpoint":
                    uploader.saved()
                if event is not None and on_event is not None:
                    on_event(event)
            if ended:
                break
            if not stop_reason and not cancelled and (stop_reason := worker_host.shutdown_requested()):
                # SIGTERM: the trainer finishes its step, saves a checkpoint and exits (SIGKILL after the grace).
                logger.warning("run %s: %s; stopping its trainer at the next step", run.pk, stop_reason)
                backend.cancel(settings.TRAINING_CANCEL_GRACE_SECONDS)
                continue
            ingestor.flush_if_due()
            uploader.upload_if_due()
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + poll
                ingestor.flush()
                # Reading the flag doubles as the heartbeat: throttled to one query pair per poll.
                if touch_heartbeat(run.pk) and not cancelled:
                    cancelled = True
                    backend.cancel(settings.TRAINING_CANCEL_GRACE_SECONDS)
    ingestor.flush()
    cancelled = cancelled or TrainingRun.objects.filter(pk=run.pk, cancel_requested=True).exists()
    return cancelled, stop_reason


def _conclude(run, run_dir: Path, ingestor: RunIngestor, exit_code: int, cancelled: bool,
              uploader: checkpoint_store.CheckpointUploader, stop_reason: str = "") -> str:
    tail = "\n".join(ingestor.tail)
    kept = {key: value for key, value in (run.artifacts or {}).items() if key == "base_model"}
    artifacts = {**kept, "checkpoints": ingestor.checkpoints, "log": f"{run.run_dir}/{LOG_FILE}"}
    check_artifacts(artifacts)
    artifact_store.publish_file(artifacts["log"])
    if cancelled:
        # The status says it: an error line repeating "cancelled" would show it twice on the run's page.
        finish_run(run.pk, JobStatus.CANCELLED, exit_code=exit_code, artifacts=artifacts)
        checkpoint_store.forget(run)
        return JobStatus.CANCELLED
    done = ingestor.done
    adapter_dir = run_dir / str((done or {}).get("adapter_dir") or "adapter")
    missing = [name for name in ADAPTER_FILES if not (adapter_dir / name).is_file()]
    if exit_code == 0 and done is not None and not missing:
        artifacts["adapter_dir"] = f"{run.run_dir}/{adapter_dir.relative_to(run_dir)}"
        # Uploaded (with a remote store) before the success is recorded: what registers it may fetch it.
        artifacts["adapter"] = artifact_store.publish_folder(artifacts["adapter_dir"])
        check_artifacts(artifacts)
        finish_run(run.pk, JobStatus.SUCCEEDED, exit_code=exit_code, artifacts=artifacts,
                   final_metrics=done.get("metrics") or {})
        checkpoint_store.forget(run)
        return JobStatus.SUCCEEDED
    # Whatever ends the attempt now, a retry on any host resumes from the newest checkpoint.
    if record := uploader.upload():
        artifacts["checkpoint"] = record
        check_artifacts(artifacts)
    if stop_reason or ingestor.stopped or exit_code == STOPPED_EXIT_CODE:
        return _hand_back(run, stop_reason or "its trainer was stopped (SIGTERM)", record, artifacts=artifacts)
    error = f"exit code {exit_code}\n{tail}"
    if exit_code == 0 and missing:
        error = f"adapter files missing: {', '.join(missing)}\n{tail}"
    finish_run(run.pk, JobStatus.FAILED, exit_code=exit_code, artifacts=artifacts, error=error,
               human_error=human_error(ingestor.error, exit_code, tail, run.base_model, missing))
    return JobStatus.FAILED


def human_error(event: dict | None, exit_code: int, tail: str, base_model: str, missing: list[str]) -> str:
    """One plain sentence saying what went wrong."""
    kind = (event or {}).get("kind", "")
    text = tail.lower()
    # SIGKILL that we did not send (137 in a container, -9 for a child) is almost always the kernel's OOM killer.
    if kind == "oom" or "out of memory" in text or exit_code in (137, -9):
        return OOM_MESSAGE
    if kind == "model_not_found":
        return f"base model not found: {base_model} (not a local folder, and downloads are off or it does not exist)"
    if event and event.get("message"):
        return f"{kind or 'trainer error'}: {event['message']}"
    if exit_code == 0 and missing:
        return "the trainer ended without writing the adapter"
    return f"the trainer crashed (exit code {exit_code}); see the last log lines"


def _hand_back(run, reason: str, record: dict | None, **fields) -> str:
    """Back to the queue for the next worker (this one is shutting down, or its trainer was stopped)."""
    when = timezone.localtime().strftime("%H:%M:%S")
    where = f"resumes from its checkpoint at step {record['step']}" if record and record.get("step") else \
        "starts over: no checkpoint was saved yet"
    if hand_back_run(run.pk, note=f"handed back to the queue at {when}: {reason}; the next worker {where}",
                     **fields):
        logger.warning("run %s handed back to the queue: %s", run.pk, reason)
        return JobStatus.QUEUED
    return TrainingRun.objects.filter(pk=run.pk).values_list("status", flat=True).first() or JobStatus.QUEUED
