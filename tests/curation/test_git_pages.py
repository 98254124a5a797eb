import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from curation.models import GitRepository, MiningJob
from curation.services.git_mining import register_repository, request_mining
from curation.tasks.mining import execute_mining_task
from tests.curation.git_helpers import greeting_repo

pytestmark = pytest.mark.django_db


@pytest.fixture
def repo(settings, tmp_path):
    settings.GIT_ALLOWED_ROOTS = [tmp_path]
    return greeting_repo(tmp_path / "project")


@pytest.mark.parametrize("user, status", [("alice", 200), ("bob", 200), ("carol", 200), ("viewer", 200),
                                          ("dave", 403)])
def test_the_repository_list_is_readable_by_every_role(client, request, user, status):
    client.force_login(request.getfixturevalue(user))
    assert client.get(reverse("repository_list")).status_code == status


def test_the_register_form_is_shown_only_to_those_who_may_ingest(client, bob, carol):
    client.force_login(carol)
    assert b"Register a repository" not in client.get(reverse("repository_list")).content
    client.force_login(bob)
    assert b"Register a repository" in client.get(reverse("repository_list")).content


def test_an_operator_registers_a_repository(client, bob, repo):
    client.force_login(bob)
    response = client.post(reverse("repository_register"), {"path": str(repo), "branch": ""})
    repository = GitRepository.objects.get()
    assert response.status_code == 302 and response.url == reverse("repository_detail", args=[repository.pk])
    assert repository.path == str(repo) and repository.created_by == bob


def test_a_refused_path_is_shown_with_its_reason_and_nothing_is_saved(client, bob, tmp_path, settings):
    settings.GIT_ALLOWED_ROOTS = [tmp_path / "allowed"]
    client.force_login(bob)
    response = client.post(reverse("repository_register"), {"path": "/etc"})
    assert response.status_code == 400
    assert b"outside the allowed roots" in response.content
    assert not GitRepository.objects.exists()


def test_a_reviewer_cannot_register_or_mine(client, carol, repo):
    client.force_login(carol)
    assert client.post(reverse("repository_register"), {"path": str(repo)}).status_code == 403
    repository = register_repository(str(repo))
    assert client.post(reverse("repository_mine", args=[repository.pk])).status_code == 403
    assert not MiningJob.objects.exists()


def test_mine_now_queues_the_mining(client, bob, repo, sent_jobs, django_capture_on_commit_callbacks):
    repository = register_repository(str(repo))
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("repository_mine", args=[repository.pk]))
    mining = MiningJob.objects.get()
    assert response.status_code == 302 and sent_jobs == [("curation.MiningJob", mining.pk)]
    assert mining.status == "queued" and mining.created_by == bob


def test_the_detail_page_shows_examples_and_the_last_stats(client, viewer, repo):
    repository = register_repository(str(repo))
    execute_mining_task(request_mining(repository).pk)
    client.force_login(viewer)
    response = client.get(reverse("repository_detail", args=[repository.pk]))
    body = response.content.decode()
    assert "feat: add the greeting module" in body
    assert "+    return &#x27;hi&#x27;" in body
    assert "1 kept" in strip_tags(body)
    assert "Mine now" not in body


def test_the_detail_page_of_an_unknown_repository_is_404(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("repository_detail", args=[999])).status_code == 404


def test_the_progress_endpoint_reports_progress_to_the_signed_in_browser(client, viewer, repo):
    repository = register_repository(str(repo))
    MiningJob.objects.create(repository=repository, status="running", progress_done=3, progress_total=10)
    client.force_login(viewer)
    data = client.get(reverse("api_git_repository", args=[repository.pk])).json()
    assert (data["status"], data["progress_done"], data["progress_total"]) == ("running", 3, 10)


def test_the_pages_of_an_active_mining_subscribe_to_its_live_updates(client, viewer, repo):
    repository = register_repository(str(repo))
    mining = request_mining(repository)
    client.force_login(viewer)
    for url in (reverse("repository_detail", args=[repository.pk]), reverse("repository_list")):
        body = client.get(url).content.decode()
        assert f'data-job-socket="/ws/jobs/mining/{mining.pk}/"' in body
        assert "http-equiv" not in body and "git_progress" not in body


def test_mine_now_in_the_admin_reports_a_mining_already_running_instead_of_failing(client, repo):
    from tests.factories import make_user

    root = make_user("root", is_staff=True, is_superuser=True)
    repository = register_repository(str(repo))
    request_mining(repository)
    client.force_login(root)
    response = client.post("/admin/curation/gitrepository/", {"action": "mine_now",
                                                              "_selected_action": [str(repository.pk)]},
                           follow=True)
    assert response.status_code == 200
    assert "already being mined" in response.content.decode()
    assert MiningJob.objects.count() == 1


def test_reviewers_review_commit_examples_in_bulk_in_the_admin_and_operators_cannot(client, repo):
    from curation.models import CommitExample, ReviewStatus
    from tests.factories import make_user

    execute_mining_task(request_mining(register_repository(str(repo))).pk)
    ids = [str(pk) for pk in CommitExample.objects.values_list("pk", flat=True)]
    operator = make_user("oscar", "Operator", is_staff=True)
    client.force_login(operator)
    client.post("/admin/curation/commitexample/", {"action": "reject", "_selected_action": ids})
    assert CommitExample.objects.get().review_status == ReviewStatus.APPROVED

    reviewer = make_user("rita", "Reviewer", is_staff=True)
    client.force_login(reviewer)
    response = client.post("/admin/curation/commitexample/", {"action": "reject", "_selected_action": ids})
    assert response.status_code == 302
    assert CommitExample.objects.get().review_status == ReviewStatus.REJECTED
