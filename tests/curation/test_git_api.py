import pytest

from curation.models import GitRepository, MiningJob
from curation.services.git_mining import register_repository
from tests.curation.git_helpers import greeting_repo
from tests.factories import bearer, make_token

pytestmark = pytest.mark.django_db
URL = "/api/v1/git/repositories"


@pytest.fixture
def repo(settings, tmp_path):
    settings.GIT_ALLOWED_ROOTS = [tmp_path]
    return greeting_repo(tmp_path / "project")


def post(client, url, token, body):
    return client.post(url, body, content_type="application/json", **bearer(token))


def test_an_operator_token_registers_a_repository(client, bob, repo):
    response = post(client, URL, make_token(bob, "Operator"), {"path": str(repo), "name": "project"})
    assert response.status_code == 201
    assert response.json()["path"] == str(repo) and response.json()["status"] == "idle"
    assert GitRepository.objects.get().created_by == bob


def test_a_viewer_token_lists_but_cannot_register(client, viewer, repo):
    register_repository(str(repo))
    token = make_token(viewer, "Viewer")
    listing = client.get(URL, **bearer(token))
    assert listing.status_code == 200 and [r["path"] for r in listing.json()["repositories"]] == [str(repo)]
    response = post(client, URL, token, {"path": str(repo)})
    assert response.status_code == 403 and "ingest_experience" in response.json()["error"]


def test_it_requires_a_token(client, repo):
    assert client.get(URL).status_code == 401


def test_a_path_outside_the_roots_is_refused_with_details(client, bob):
    response = post(client, URL, make_token(bob, "Operator"), {"path": "/etc"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"].startswith("invalid repository")
    assert body["details"][0]["field"] == "path" and "outside the allowed roots" in body["details"][0]["message"]
    assert not GitRepository.objects.exists()


def test_a_folder_that_is_not_a_repository_is_refused(client, bob, repo, tmp_path):
    (tmp_path / "plain").mkdir()
    response = post(client, URL, make_token(bob, "Operator"), {"path": str(tmp_path / "plain")})
    assert response.status_code == 400 and "not a git repository" in response.json()["details"][0]["message"]


@pytest.mark.parametrize("body, field, problem", [
    ({"path": 5}, "path", "path: Input should be a valid string"), ({"path": "/x", "shell": "rm"}, "shell",
                                                                     "shell: unknown field"),
    ({}, "path", "path: required"),
])
def test_malformed_fields_are_named(client, bob, repo, body, field, problem):
    response = post(client, URL, make_token(bob, "Operator"), body)
    assert response.status_code == 400 and {"field": field, "message": problem} in response.json()["details"]


def test_malformed_json_is_a_400(client, bob):
    response = client.post(URL, "{nope", content_type="application/json", **bearer(make_token(bob, "Operator")))
    assert response.status_code == 400 and response.json()["error"] == "malformed JSON"


def test_mine_queues_once_and_refuses_a_second_request(client, bob, repo, sent_jobs,
                                                       django_capture_on_commit_callbacks):
    repository = register_repository(str(repo))
    token = make_token(bob, "Operator")
    url = f"{URL}/{repository.pk}/mine"
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, url, token, {})
    assert first.status_code == 202 and first.json()["status"] == "queued"
    assert sent_jobs == [("curation.MiningJob", first.json()["mining"]["id"])]
    second = post(client, url, token, {})
    assert second.status_code == 409 and "already being mined" in second.json()["details"][0]["message"]
    assert list(MiningJob.objects.values_list("status", flat=True)) == ["queued"]


def test_mine_needs_the_ingest_permission(client, carol, repo):
    repository = register_repository(str(repo))
    response = post(client, f"{URL}/{repository.pk}/mine", make_token(carol, "Reviewer"), {})
    assert response.status_code == 403


def test_mining_an_unknown_repository_is_a_404(client, bob):
    assert post(client, f"{URL}/999/mine", make_token(bob, "Operator"), {}).status_code == 404
