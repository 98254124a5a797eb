"""The cycle page's socket: the cycle's state, then each journal entry as it is written."""

import pytest
from asgiref.sync import sync_to_async

from academy_site.asgi import application
from jobs import lifecycle
from professor import journal
from professor.cycle import start_cycle
from professor.models import Cycle
from tests.training.live_helpers import close_thread_connections, open_socket, receive_until, use_layer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def memory_layer(settings):
    use_layer(settings, "memory")
    settings.LIVE_BATCH_WINDOW_MS = 0
    yield
    await close_thread_connections()


async def test_the_cycle_socket_sends_the_state_then_journal_entries(client, viewer):
    cycle = await sync_to_async(start_cycle)(None, queue=False)
    communicator, connected, code = await open_socket(application, f"/ws/jobs/cycle/{cycle.pk}/", client, viewer)
    assert connected, code
    first = await communicator.receive_json_from(timeout=5)
    assert (first["type"], first["status"], first["outcome"]) == ("job.status", "queued", "pending")

    def work():
        lifecycle.claim(Cycle, cycle.pk, worker="w")
        journal.write(cycle.pk, "readiness", "stopped", "not ready to train: 3 approved examples (minimum 100)")

    await sync_to_async(work)()
    seen = []
    while not any(m["type"] == "cycle.journal" for m in seen):
        seen.append(await communicator.receive_json_from(timeout=5))
    entry = seen[-1]
    assert entry["step"] == "readiness" and entry["message"].startswith("not ready to train: 3 approved")
    await communicator.disconnect()


def _kinds(messages, kind):
    return [m for m in messages if m["type"] == "cycle.step" and m["kind"] == kind]


async def test_the_cycle_socket_relays_the_job_of_the_step_in_progress(client, viewer):
    """The step's job streams on its own group; the cycle's socket follows whichever job the journal names last."""
    from curation.models import DatasetBuild
    from curation.services.datasets import start_build
    from jobs import broadcast
    from jobs.models import JobStatus
    from professor.models import Step, StepOutcome
    from tests.professor.factories import make_run, make_snapshot_row
    from training.models import TrainingRun

    def begin():
        cycle = start_cycle(None, queue=False)
        lifecycle.claim(Cycle, cycle.pk, worker="w")
        build = start_build(None, name=f"professor-cycle-{cycle.pk}", format="messages", queue=False)
        journal.write(cycle.pk, Step.DATASET, StepOutcome.STARTED, f"building dataset (build {build.pk})", job=build)
        return cycle, build

    cycle, build = await sync_to_async(begin)()
    communicator, connected, code = await open_socket(application, f"/ws/jobs/cycle/{cycle.pk}/", client, viewer)
    assert connected, code
    first, step = await communicator.receive_json_from(timeout=5), await communicator.receive_json_from(timeout=5)
    assert first["type"] == "job.status" and first["kind"] == "cycle"
    assert (step["type"], step["step"], step["kind"], step["id"]) == ("cycle.step", "dataset", "build", build.pk)
    assert (step["status"], step["state_label"], step["url"]) == ("queued", "Queued", f"/datasets/builds/{build.pk}/")

    # The build is claimed and reports progress on its own group: the cycle's socket relays both.
    await sync_to_async(lambda: (lifecycle.claim(DatasetBuild, build.pk, worker="w"),
                                 lifecycle.report_progress(DatasetBuild, build.pk, 0.5)))()
    seen = await receive_until(communicator, lambda ms: any(m.get("progress") == 0.5 for m in _kinds(ms, "build")))
    relayed = _kinds(seen, "build")
    assert relayed[0]["state_label"] == "Running" and relayed[-1]["progress"] == 0.5

    # The training step starts a run: the socket leaves the build's group for the run's.
    def train():
        run = make_run(make_snapshot_row(60), status=JobStatus.QUEUED)
        journal.write(cycle.pk, Step.TRAINING, StepOutcome.STARTED, f"started run {run.pk}", job=run)
        return run

    run = await sync_to_async(train)()
    seen = await receive_until(communicator, lambda ms: bool(_kinds(ms, "run")))
    assert [m["type"] for m in seen][-2:] == ["cycle.journal", "cycle.step"]
    assert seen[-2]["job"]["kind"] == "run" and seen[-1]["state_label"] == "Queued"

    # A run streams metric points, not progress: the relay reads its progress and ETA from the row.
    def progress():
        lifecycle.report_progress(DatasetBuild, build.pk, 0.9)  # the previous step's job: no longer relayed
        lifecycle.claim(TrainingRun, run.pk, worker="gpu-1")
        TrainingRun.objects.filter(pk=run.pk).update(progress=0.42, eta_seconds=270.0, current_step=42,
                                                     total_steps=100)
        broadcast.publish_job_events(run.group_name, [{"event": "metric", "step": 42, "loss": 1.2}])

    await sync_to_async(progress)()
    seen = await receive_until(communicator, lambda ms: any(m.get("progress") == 0.42 for m in _kinds(ms, "run")))
    assert not _kinds(seen, "build") and not any(m.get("progress") == 0.9 for m in seen)
    latest = _kinds(seen, "run")[-1]
    assert (latest["status"], latest["eta_seconds"], latest["eta_text"]) == ("running", 270.0, "ETA 4 min 30 s")
    await communicator.disconnect()


async def test_a_snapshot_request_resends_the_steps_job(client, viewer):
    from curation.services.datasets import start_build
    from professor.models import Step, StepOutcome

    def begin():
        cycle = start_cycle(None, queue=False)
        build = start_build(None, name="b", format="messages", queue=False)
        journal.write(cycle.pk, Step.DATASET, StepOutcome.STARTED, "building", job=build)
        return cycle

    cycle = await sync_to_async(begin)()
    communicator, connected, code = await open_socket(application, f"/ws/jobs/cycle/{cycle.pk}/", client, viewer)
    assert connected, code
    await receive_until(communicator, lambda ms: len(ms) == 2)
    await communicator.send_json_to({"type": "snapshot"})
    again = await receive_until(communicator, lambda ms: len(ms) == 2)
    assert [m["type"] for m in again] == ["job.status", "cycle.step"]
    await communicator.disconnect()


async def test_an_outsider_cannot_open_the_cycle_socket(client, dave):
    cycle = await sync_to_async(start_cycle)(None, queue=False)
    _, connected, code = await open_socket(application, f"/ws/jobs/cycle/{cycle.pk}/", client, dave)
    assert not connected and code == 4403
