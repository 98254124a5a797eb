"""The runs list and the run page tell the same progress, and an early stop is not "100 %"."""

import pytest

from jobs.models import JobStatus
from tests.training.factories import make_snapshot
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


def _run(alice, **fields) -> TrainingRun:
    return TrainingRun.objects.create(dataset=make_snapshot(), base_model="toy/base", created_by=alice, **fields)


def test_an_early_stopped_run_says_so_instead_of_100_percent(client, viewer, alice):
    run = _run(alice, status=JobStatus.SUCCEEDED, progress=1.0, current_step=300, total_steps=654)
    client.force_login(viewer)
    page = client.get(f"/training/runs/{run.pk}/").content.decode()
    assert "stopped early at step 300 of 654 planned" in page and "100 %" not in page
    assert "done, early" in client.get("/training/").content.decode()


def test_list_and_page_round_progress_the_same_way(client, viewer, alice):
    run = _run(alice, status=JobStatus.RUNNING, progress=0.996, current_step=249, total_steps=250)
    client.force_login(viewer)
    assert '<span id="run-progress-text">99 %</span>' in client.get(f"/training/runs/{run.pk}/").content.decode()
    assert "99%" in client.get("/training/").content.decode()
