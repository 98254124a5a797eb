"""A job's stored error passes the secret scrubber, whoever reports it (jobs itself cannot import it)."""

import pytest

from curation.models import DatasetBuild, GitRepository, MiningJob
from curation.services.git_mining import register_repository, request_mining, run_mining
from jobs import lifecycle
from jobs.models import JobStatus
from tests.curation.git_helpers import commit, init_repo

pytestmark = pytest.mark.django_db
TOKEN = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
URL_PASSWORD = "Rabb1tMQ-S3cret"


@pytest.fixture
def build():
    job = DatasetBuild.objects.create(name="b", format="alpaca")
    lifecycle.claim(DatasetBuild, job.pk)
    return job


def test_fail_redacts_the_technical_error_and_the_plain_words_one(build):
    lifecycle.fail(DatasetBuild, build.pk, error=f"Traceback ...\nConnectionError: amqp://guest:{URL_PASSWORD}@mq/",
                   human_error=f"could not push with token {TOKEN}")
    failed = DatasetBuild.objects.get(pk=build.pk)
    assert failed.status == JobStatus.FAILED
    assert URL_PASSWORD not in failed.error and "amqp://guest:[REDACTED:url_password]@mq/" in failed.error
    assert failed.human_error == "could not push with token [REDACTED:github_token]"


def test_the_plain_words_error_taken_from_the_first_line_is_redacted_too(build):
    lifecycle.fail(DatasetBuild, build.pk, error=f"export GITHUB_TOKEN={TOKEN} failed\nmore")
    assert TOKEN not in DatasetBuild.objects.get(pk=build.pk).human_error


def test_a_secret_at_the_length_limit_is_redacted_before_the_error_is_cut(build):
    lifecycle.fail(DatasetBuild, build.pk, error="x" * 19990 + f" token {TOKEN}")
    assert "ghp_" not in DatasetBuild.objects.get(pk=build.pk).error


def test_finish_redacts_an_error_given_directly(build):
    lifecycle.finish(DatasetBuild, build.pk, status=JobStatus.CANCELLED, human_error=f"stopped; token {TOKEN}")
    assert DatasetBuild.objects.get(pk=build.pk).human_error == "stopped; token [REDACTED:github_token]"


def test_a_mining_that_fails_on_a_secret_branch_name_stores_it_redacted(settings, tmp_path):
    settings.GIT_ALLOWED_ROOTS = [tmp_path]
    path = init_repo(tmp_path / "project")
    commit(path, "feat: add the greeting module", {"greet.py": "X = 1\n"})
    repository = register_repository(str(path))
    GitRepository.objects.filter(pk=repository.pk).update(branch=TOKEN)  # a token pasted as the branch
    mining = request_mining(GitRepository.objects.get(pk=repository.pk), queue=False)
    run_mining(mining.pk)
    failed = MiningJob.objects.get(pk=mining.pk)
    assert failed.status == JobStatus.FAILED and "does not exist" in failed.error
    assert TOKEN not in failed.error and TOKEN not in failed.human_error
