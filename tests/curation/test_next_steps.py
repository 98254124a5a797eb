"""Curation pages end with the next step: a finished queue offers a dataset, a snapshot offers training."""

import pytest

from curation.models import ReviewStatus
from tests.curation.factories import make_lesson
from tests.training.factories import make_snapshot

pytestmark = pytest.mark.django_db


def test_a_finished_review_queue_offers_build_a_dataset(client, bob):
    make_lesson(status=ReviewStatus.APPROVED)
    pending = make_lesson(status=ReviewStatus.PENDING)
    client.force_login(bob)
    assert 'id="queue-finished"' not in client.get("/lessons/").content.decode()
    pending.review_status = ReviewStatus.REJECTED
    pending.save()
    html = client.get("/lessons/").content.decode()
    assert 'id="queue-finished"' in html and "1 approved record ready" in html
    assert 'href="/datasets/new/">Build a dataset</a>' in html


def test_a_reviewer_without_build_rights_is_sent_to_the_datasets_list(client, carol):
    client.force_login(carol)
    html = client.get("/lessons/").content.decode()
    assert "See the datasets" in html and "Build a dataset</a>" not in html


def test_the_snapshot_page_offers_train_on_this_and_shows_rows_as_text(client, bob, viewer):
    snapshot = make_snapshot(rows=4)
    client.force_login(bob)
    html = client.get(f"/datasets/{snapshot.sha256}/").content.decode()
    assert f'href="/training/runs/new/?dataset={snapshot.pk}">Train on this</a>' in html
    assert '<dd class="preview-text">Say which colour item 0 has' in html
    assert "&quot;instruction&quot;" not in html  # rows are fields, not escaped JSON
    client.force_login(viewer)
    assert "Train on this" not in client.get(f"/datasets/{snapshot.sha256}/").content.decode()


def test_the_git_register_form_shows_the_allowed_roots_before_typing(client, bob, settings, tmp_path):
    settings.GIT_ALLOWED_ROOTS = [tmp_path / "work", tmp_path / "src"]
    client.force_login(bob)
    html = client.get("/git/").content.decode()
    assert f"Allowed roots: {tmp_path / 'work'}, {tmp_path / 'src'}." in html
    assert f'placeholder="{tmp_path / "work" / "my-project"}"' in html


def test_registering_a_subfolder_names_the_repositorys_top_folder(client, bob, settings, tmp_path):
    from tests.curation.git_helpers import commit, init_repo

    settings.GIT_ALLOWED_ROOTS = [tmp_path]
    repo = init_repo(tmp_path / "project")
    commit(repo, "feat: first", {"src/app.py": "print('hi')\n"})
    client.force_login(bob)
    response = client.post("/git/register", {"path": str(repo / "src")})
    assert response.status_code == 400
    assert f"register its top folder {repo}" in response.content.decode()


def test_empty_lists_say_what_to_do_next(client, bob):
    client.force_login(bob)
    assert 'href="/datasets/new/">build a dataset</a>' in client.get("/datasets/").content.decode()
    assert "then press <em>Mine now</em>" in client.get("/git/").content.decode()
    assert "train an adapter</a> from a dataset snapshot" in client.get("/models/").content.decode()
