"""The Professor page and the cycle page: step labels that follow each step's job, the job of the step in
progress (state, percentage, ETA, link), and a cycle that stopped at readiness saying why."""

import pytest

from jobs import lifecycle
from jobs.models import JobStatus
from professor import journal
from professor.cycle import run_cycle, start_cycle
from professor.models import Cycle, JournalEntry, Outcome, Step, StepOutcome
from tests.factories import bearer, make_token
from tests.professor.factories import make_run, make_snapshot_row
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


def cycle_with_started_run(status=JobStatus.QUEUED):
    cycle = start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="w")
    run = make_run(make_snapshot_row(60), status=status)
    journal.write(cycle.pk, Step.TRAINING, StepOutcome.STARTED, f"started run {run.pk}: batch 2", job=run)
    return cycle, run


@pytest.mark.parametrize(("status", "label"), [
    (JobStatus.QUEUED, "Training · Queued"),
    (JobStatus.RUNNING, "Training · Running"),
    (JobStatus.SUCCEEDED, "Training · Done"),
    (JobStatus.FAILED, "Training · Failed"),
    (JobStatus.CANCELLED, "Training · Cancelled"),
])
def test_the_step_that_started_a_run_is_labelled_by_the_runs_state(client, viewer, status, label):
    cycle, run = cycle_with_started_run(status)
    client.force_login(viewer)
    for page in (client.get("/professor/"), client.get(f"/professor/cycles/{cycle.pk}/")):
        text = page.content.decode()
        assert label in text, label
        assert f'data-job-badge="run:{run.pk}"' in text
    if status != JobStatus.SUCCEEDED:
        assert "Training · Done" not in client.get("/professor/").content.decode()


def test_the_label_changes_when_the_run_moves_on(client, viewer):
    cycle, run = cycle_with_started_run(JobStatus.QUEUED)
    client.force_login(viewer)
    assert "Training · Queued" in client.get(f"/professor/cycles/{cycle.pk}/").content.decode()
    lifecycle.claim(TrainingRun, run.pk, worker="gpu-1")
    page = client.get(f"/professor/cycles/{cycle.pk}/").content.decode()
    assert "Training · Running" in page and "Training · Queued" not in page


def test_the_api_gives_each_started_step_its_jobs_state(client, viewer):
    cycle, run = cycle_with_started_run(JobStatus.RUNNING)
    body = client.get(f"/api/v1/professor/cycles/{cycle.pk}", **bearer(make_token(viewer, "Viewer"))).json()
    started = body["journal"][-1]
    assert started["outcome"] == "started"
    assert started["job"] == {"kind": "run", "id": run.pk, "status": "running", "state_label": "Running"}
    listed = client.get("/api/v1/professor/cycles", **bearer(make_token(viewer, "Viewer"))).json()["cycles"]
    assert listed[0]["journal"][-1]["job"]["state_label"] == "Running"


def test_the_active_cycle_shows_its_steps_job_with_percentage_eta_and_link(client, viewer):
    cycle, run = cycle_with_started_run(JobStatus.RUNNING)
    TrainingRun.objects.filter(pk=run.pk).update(progress=0.42, eta_seconds=270, current_step=42, total_steps=100)
    client.force_login(viewer)
    for page in (client.get("/professor/"), client.get(f"/professor/cycles/{cycle.pk}/")):
        text = page.content.decode()
        assert "data-step-job>" in text.replace("data-step-job hidden>", "")  # shown, not hidden
        assert "42 %" in text and "ETA 4 min 30 s" in text
        assert f'href="/training/runs/{run.pk}/">run {run.pk}</a>' in text
        assert f'data-job-socket="/ws/jobs/cycle/{cycle.pk}/"' in text


def test_a_finished_cycle_on_the_professor_page_has_no_live_step(client, viewer):
    cycle, run = cycle_with_started_run(JobStatus.SUCCEEDED)
    lifecycle.finish(Cycle, cycle.pk, outcome=Outcome.REJECTED, summary="v2 was rejected; the active version stays")
    client.force_login(viewer)
    text = client.get("/professor/").content.decode()
    assert "data-step-job" not in text and "data-job-socket" not in text
    assert "Training · Done" in text
    detail = client.get(f"/professor/cycles/{cycle.pk}/").content.decode()
    assert "Last step: <span" in detail and "Now: " not in detail


def test_the_cycle_names_its_dataset_build_while_it_runs(settings):
    """The dataset step journals the build it starts, so the page can follow it."""
    from curation.models import DatasetBuild

    settings.MIN_LESSONS_FOR_TRAINING = 0
    settings.MIN_NEW_EXAMPLES_FOR_TRAINING = 0
    settings.MIN_DATASET_EXAMPLES = 1000  # the cycle stops after the build: no training here
    settings.MEMORY_ROOT = settings.DATA_DIR / "memory"
    cycle = start_cycle(None, queue=False)
    run_cycle(cycle.pk, in_process=True)
    started = JournalEntry.objects.get(cycle=cycle, outcome=StepOutcome.STARTED)
    build = DatasetBuild.objects.get(name=f"professor-cycle-{cycle.pk}")
    assert (started.step, started.job_kind, started.job_id) == ("dataset", "build", build.pk)
    assert started.message == f"building dataset professor-cycle-{cycle.pk} (build {build.pk})"
    assert Cycle.objects.get(pk=cycle.pk).step_job()["url"] == build.get_absolute_url()


# ---------------------------------------------------------------------------- not ready
@pytest.fixture
def not_ready(settings):
    settings.MIN_LESSONS_FOR_TRAINING = 100
    settings.MEMORY_ROOT = settings.DATA_DIR / "memory"
    cycle = start_cycle(None, queue=False)
    run_cycle(cycle.pk, in_process=True)
    return Cycle.objects.get(pk=cycle.pk)


def test_a_cycle_that_was_not_ready_stores_why_as_its_outcome(not_ready):
    assert not_ready.outcome == Outcome.NOT_READY and not_ready.status == JobStatus.SUCCEEDED
    assert not_ready.outcome_reason.startswith("0 approved examples (minimum 100)")
    assert not_ready.outcome_text == f"not ready: {not_ready.outcome_reason}"
    assert not_ready.status_label == "Did not train"


def test_a_not_ready_cycle_reads_not_ready_with_its_reason_in_lists_pages_and_api(not_ready, client, viewer):
    client.force_login(viewer)
    expected = "not ready: 0 approved examples (minimum 100)"
    for url in ("/professor/", f"/professor/cycles/{not_ready.pk}/", "/"):
        text = client.get(url).content.decode()
        assert expected in text, url
        assert "Did not train" in text, url
        assert ">Succeeded<" not in text, url
    body = client.get(f"/api/v1/professor/cycles/{not_ready.pk}", **bearer(make_token(viewer, "Viewer"))).json()
    assert body["outcome"] == "not_ready" and body["outcome_text"].startswith(expected)
    assert body["status_label"] == "Did not train"
    listed = client.get("/api/v1/professor/cycles", **bearer(make_token(viewer, "Viewer"))).json()["cycles"]
    assert listed[0]["outcome_text"] == body["outcome_text"]


def test_a_cycle_that_trained_keeps_its_outcome_words():
    cycle = start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="w")
    lifecycle.finish(Cycle, cycle.pk, outcome=Outcome.PROMOTED, summary="v2 is now the active version of default")
    cycle.refresh_from_db()
    assert (cycle.outcome_text, cycle.status_label) == ("Promoted", "Succeeded")
    assert cycle.status_payload()["outcome_text"] == "Promoted"
