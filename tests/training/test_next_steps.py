"""Training pages lead on: the start form takes the snapshot it was sent from; a run links to its version."""

import pytest

from jobs.models import JobStatus
from tests.models_registry.factories import make_line, make_version
from tests.training.factories import make_snapshot
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


def test_train_on_this_preselects_the_snapshot(client, bob):
    make_snapshot(name="older")
    chosen = make_snapshot(name="chosen")
    make_snapshot(name="newest")
    client.force_login(bob)
    html = client.get(f"/training/runs/new/?dataset={chosen.pk}").content.decode()
    assert f'<option value="{chosen.pk}" selected>' in html


def test_the_run_page_links_to_the_version_it_produced(client, viewer, alice):
    run = TrainingRun.objects.create(dataset=make_snapshot(), base_model="toy/base", created_by=alice,
                                     status=JobStatus.SUCCEEDED)
    client.force_login(viewer)
    assert 'id="run-version"' not in client.get(f"/training/runs/{run.pk}/").content.decode()
    make_version(make_line(), training_run=run)
    html = client.get(f"/training/runs/{run.pk}/").content.decode()
    assert 'href="/models/venom-coder/v1/">venom-coder v1</a>' in html
