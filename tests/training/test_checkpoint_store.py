"""A run's checkpoints in the artifact store: uploaded throttled, the latest only, fetched (checked) by any host.

The store is a real S3 server (moto's); the uploader's clock is a plain list so the throttle is
exercised without waiting.
"""

import json
from pathlib import Path

import pytest

from artifacts import store
from jobs.models import JobStatus
from tests.s3_server import s3_store  # noqa: F401 (fixture)
from tests.training.factories import make_run
from training import checkpoint_store
from training.checkpoint_store import CheckpointUploader
from training.models import TrainingRun
from training.trainer import checkpoints

pytestmark = pytest.mark.django_db


def _save(run_dir: Path, step: int) -> Path:
    """A checkpoint as checkpoints.save leaves it (its files and, last, its state), pruned to the newest two."""
    folder = run_dir / "checkpoints" / f"step-{step}"
    folder.mkdir(parents=True)
    for name in ("adapter_model.safetensors", "adapter_config.json", "optimizer.pt", "scheduler.pt", "rng.pt"):
        (folder / name).write_bytes(f"{name} at step {step}".encode())
    (folder / checkpoints.STATE_FILE).write_text(json.dumps({"step": step, "dataset_sha256": "d"}))
    for old in sorted(checkpoints._complete(run_dir))[:-checkpoints.KEEP_LAST]:
        for file in checkpoints.checkpoint_dir(run_dir, old).iterdir():
            file.unlink()
        checkpoints.checkpoint_dir(run_dir, old).rmdir()
    return folder


def _stored_steps(server, values, run) -> list[str]:
    prefix = values["ARTIFACT_STORE_URL"].removeprefix("s3://") + f"/{run.run_dir}/checkpoints"
    fs = server.filesystem()
    return sorted(entry.rsplit("/", 1)[-1] for entry in fs.ls(prefix, detail=False, refresh=True)) \
        if fs.exists(prefix) else []


@pytest.fixture
def run(settings):
    run = make_run()
    run.run_dir = f"runs/{run.pk}"
    run.save(update_fields=["run_dir"])
    return run


def test_the_latest_checkpoint_is_uploaded_at_most_once_per_interval_and_only_it_stays(run, s3_store, settings):  # noqa: F811
    server, values = s3_store
    run_dir = settings.DATA_DIR / run.run_dir
    now = [1000.0]
    flushed = []
    uploader = CheckpointUploader(run, run_dir, interval=60, clock=lambda: now[0],
                                  before_upload=lambda: flushed.append(now[0]))

    _save(run_dir, 1)
    uploader.saved()  # the first one goes at once
    assert TrainingRun.objects.get(pk=run.pk).artifacts["checkpoint"]["step"] == 1
    assert _stored_steps(server, values, run) == ["step-1"]

    for step in (2, 3):
        now[0] += 20
        _save(run_dir, step)
        uploader.saved()  # within the interval: nothing goes
    uploader.upload_if_due()
    assert TrainingRun.objects.get(pk=run.pk).artifacts["checkpoint"]["step"] == 1
    assert _stored_steps(server, values, run) == ["step-1"]
    assert flushed == [1000.0]

    now[0] = 1060.0
    uploader.upload_if_due()  # due: the newest one (step 3) replaces step 1 in the store
    record = TrainingRun.objects.get(pk=run.pk).artifacts["checkpoint"]
    assert record["step"] == 3 and record["key"] == f"{run.run_dir}/checkpoints/step-3"
    assert record["files"] == store.folder_hashes(run_dir / "checkpoints" / "step-3")
    assert _stored_steps(server, values, run) == ["step-3"]
    assert flushed == [1000.0, 1060.0]  # the points are stored before each checkpoint is recorded
    uploader.upload_if_due()  # nothing new since: nothing uploaded again
    assert flushed == [1000.0, 1060.0]

    now[0] += 1
    _save(run_dir, 4)
    uploader.saved()
    assert TrainingRun.objects.get(pk=run.pk).artifacts["checkpoint"]["step"] == 3
    assert uploader.upload()["step"] == 4  # the attempt ends: the newest goes whatever the interval
    assert _stored_steps(server, values, run) == ["step-4"]
    assert not list((run_dir / "checkpoints").glob(".*"))  # the upload's hard links are gone


def test_another_host_fetches_the_recorded_checkpoint_checked_and_resumes_from_it(run, s3_store, settings, tmp_path):  # noqa: F811
    server, values = s3_store
    run_dir = settings.DATA_DIR / run.run_dir
    _save(run_dir, 5)
    CheckpointUploader(run, run_dir, interval=60).upload()
    run.refresh_from_db()
    run.status = JobStatus.FAILED
    assert checkpoint_store.resume_step(run) == 5
    assert checkpoint_store.resume_note(run) == ("A retry resumes from its checkpoint at step 5, on whichever worker "
                                                 "takes it.")

    settings.DATA_DIR = tmp_path / "host-b"  # another host: its own, empty data root
    assert checkpoint_store.fetch_for_resume(run) == ""
    other = settings.DATA_DIR / run.run_dir
    assert checkpoints.latest(other).name == "step-5"
    assert store.folder_hashes(other / "checkpoints" / "step-5") == run.artifacts["checkpoint"]["files"]

    # A store copy that does not match its recorded hash is refused, and no half checkpoint is left behind.
    settings.DATA_DIR = tmp_path / "host-c"
    fs = server.filesystem()
    remote = values["ARTIFACT_STORE_URL"].removeprefix("s3://") + f"/{run.run_dir}/checkpoints/step-5"
    fs.pipe(f"{remote}/optimizer.pt", b"tampered")
    warning = checkpoint_store.fetch_for_resume(run)
    assert "step 5 could not be fetched" in warning and "does not match its hash" in warning
    assert checkpoints.latest(settings.DATA_DIR / run.run_dir) is None


def test_without_a_checkpoint_the_page_says_a_retry_starts_over(run, settings):
    run.status = JobStatus.LOST
    assert checkpoint_store.resume_step(run) is None
    assert checkpoint_store.resume_note(run) == "A retry starts over from step 0: no checkpoint of this run was kept."
    run.status = JobStatus.SUCCEEDED
    assert checkpoint_store.resume_note(run) == ""


def test_without_a_remote_store_nothing_goes_up_while_it_trains_and_the_end_is_recorded_unhashed(run, settings):
    settings.ARTIFACT_STORE_URL = ""
    run_dir = settings.DATA_DIR / run.run_dir
    uploader = CheckpointUploader(run, run_dir, interval=0)
    for step in (1, 2):
        _save(run_dir, step)
        uploader.saved()  # the run folder is shared: nothing to do while it trains
    assert "checkpoint" not in TrainingRun.objects.get(pk=run.pk).artifacts
    # What the ingestor records of each checkpoint event is enough to say where a retry resumes.
    run.artifacts = {"checkpoints": [{"step": 1, "path": "checkpoints/step-1"},
                                     {"step": 2, "path": "checkpoints/step-2"}]}
    assert checkpoint_store.resume_step(run) == 2
    assert uploader.upload() == {"step": 2, "key": f"{run.run_dir}/checkpoints/step-2", "files": {}}
    assert TrainingRun.objects.get(pk=run.pk).artifacts["checkpoint"]["step"] == 2


def test_the_run_page_and_the_retry_message_say_from_which_step_a_retry_resumes(client, bob, sent_jobs):
    from tests.training.factories import make_snapshot
    from training import services

    with_checkpoint, without = (services.start_run(bob, dataset=make_snapshot(), backend="local",
                                                   base_model="HuggingFaceTB/SmolLM2-135M-Instruct")
                                for _ in range(2))
    TrainingRun.objects.filter(pk=with_checkpoint.pk).update(status=JobStatus.LOST, attempt=1, artifacts={
        "checkpoint": {"step": 12, "key": f"{with_checkpoint.run_dir}/checkpoints/step-12", "files": {}}})
    TrainingRun.objects.filter(pk=without.pk).update(status=JobStatus.LOST, attempt=1)
    client.force_login(bob)

    page = client.get(f"/training/runs/{with_checkpoint.pk}/").content.decode()
    assert "A retry resumes from its checkpoint at step 12" in page
    assert "A retry starts over from step 0" in client.get(f"/training/runs/{without.pk}/").content.decode()

    response = client.post(f"/training/runs/{with_checkpoint.pk}/retry/", follow=True)
    assert (f"Run {with_checkpoint.pk} queued again. The next attempt resumes from its checkpoint at step 12"
            in response.content.decode())
    response = client.post(f"/training/runs/{without.pk}/retry/", follow=True)
    assert f"Run {without.pk} queued again. The next attempt starts over from step 0" in response.content.decode()
