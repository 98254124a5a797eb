"""The Overview guides a newcomer: the loop's checklist, then active versions, the last loss curve and what waits."""

import re
import time

import pytest
from django.utils import timezone

from curation.models import ReviewStatus
from jobs.models import JobStatus
from models_registry import services
from models_registry.models import ModelVersion
from tests.curation.factories import make_lesson
from tests.models_registry.factories import make_line, make_version
from tests.training.factories import make_snapshot
from training.models import MetricPoint, TrainingRun

pytestmark = pytest.mark.django_db

STEPS = ["review", "dataset", "train", "watch", "evaluate", "promote"]


def _page(client, user) -> str:
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _states(html: str) -> dict:
    return {key: state for state, key in re.findall(r'<li class="(done|next|)" data-step="(\w+)"', html)}


def test_an_empty_workspace_shows_the_loop_in_order_with_review_next(client, viewer):
    html = _page(client, viewer)
    assert "Your first learning loop" in html
    assert re.findall(r'data-step="(\w+)"', html) == STEPS
    states = _states(html)
    assert states["review"] == "next" and all(states[key] == "" for key in STEPS[1:])
    assert 'href="/lessons/"' in html


def test_steps_are_marked_done_as_the_loop_advances(client, viewer, alice):
    make_lesson(status=ReviewStatus.PENDING)
    make_lesson(reviewed_by=alice, reviewed_at=timezone.now())
    snapshot = make_snapshot()
    html = _page(client, viewer)
    states = _states(html)
    assert states["review"] == "done" and states["dataset"] == "done" and states["train"] == "next"
    assert f"/datasets/{snapshot.sha256}/" in html
    assert "Waiting for a person" in html and "1</strong> lesson awaiting review" in html
    make_lesson(status=ReviewStatus.PENDING)
    assert "2</strong> lessons awaiting review" in _page(client, viewer)


def _finished_run(snapshot, alice) -> TrainingRun:
    run = TrainingRun.objects.create(dataset=snapshot, base_model="toy/base", created_by=alice,
                                     status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    for step, loss in [(1, 2.5), (2, 1.9876543219876), (3, 1.4)]:
        MetricPoint.objects.create(run=run, step=step, loss=loss, ts=time.time())
    return run


def test_after_the_loop_it_shows_active_versions_and_the_last_loss_curve(client, viewer, alice):
    make_lesson(reviewed_by=alice, reviewed_at=timezone.now())
    snapshot = make_snapshot()
    run = _finished_run(snapshot, alice)
    line = make_line()
    verdict = {"training": {}, "eval": {}, "arena": {"decision": "promote"}}
    version = make_version(line, training_run=run, metrics=verdict)
    services.promote_version(version, alice, "looks good")
    make_version(line)  # a new candidate waits for a decision
    html = _page(client, viewer)
    assert "Your first learning loop" not in html
    assert 'id="overview-active-versions"' in html and '/models/venom-coder/v1/' in html
    assert 'id="overview-last-run"' in html and f"run #{run.pk}" in html
    assert "1.9877" in html and "1.9876543219876" not in html  # losses rounded for the chart
    assert "1</strong> candidate version awaiting a decision" in html  # one, not "1 candidate versions"
    assert ModelVersion.objects.candidates().count() == 1


def test_a_version_made_active_without_training_here_does_not_tick_promote(alice):
    from models_registry.overview import steps

    line = make_line()
    services.promote_version(make_version(line), alice, "the base model as it ships")  # as the demo does
    assert [s["done"] for s in steps() if s["key"] == "promote"] == [False]
    run = _finished_run(make_snapshot(), alice)
    services.promote_version(make_version(line, training_run=run), alice, "trained here")
    assert [s["done"] for s in steps() if s["key"] == "promote"] == [True]
