"""manage.py seed_demo: the demo workspace a first `make run` gets."""

from io import StringIO

import pytest
from django.core.management import call_command

from curation.models import CommitExample, Conversation, GitRepository, Lesson, ReviewStatus
from curation.services.datasets import run_build, start_build
from jobs.models import JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_toy_build(settings):
    settings.DEFAULT_BASE_MODEL = "toy/configured"  # the toy base build has its own tests


def _seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_imports_sample_lessons_and_conversations(settings, tmp_path):
    settings.GIT_ALLOWED_ROOTS = [tmp_path / "elsewhere"]
    out = _seed()
    assert Lesson.objects.count() >= 140
    assert Lesson.objects.filter(review_status=ReviewStatus.PENDING).count() == Lesson.objects.count()
    assert Conversation.objects.count() >= 4
    assert "not mined" in out and "outside the allowed roots" in out
    assert GitRepository.objects.count() == 0
    _seed()  # idempotent
    assert Lesson.objects.count() == Lesson.objects.filter(origin="demo").count() >= 140


def test_it_registers_and_mines_this_repository_inside_the_allowed_roots(settings):
    settings.GIT_ALLOWED_ROOTS = [settings.BASE_DIR.parent]
    if not (settings.BASE_DIR / ".git").exists():
        pytest.skip("this checkout has no git history")
    out = _seed()
    repository = GitRepository.objects.get()
    assert repository.name == "academy" and repository.latest_mining.status == "succeeded"
    assert CommitExample.objects.filter(repository=repository).count() > 10
    assert "registering and mining" in out


def test_if_empty_seeds_once_and_never_over_existing_records(settings):
    settings.GIT_ALLOWED_ROOTS = []
    _seed("--if-empty")
    count = Lesson.objects.count()
    Lesson.objects.filter(pk__in=Lesson.objects.values("pk")[:10]).delete()
    _seed("--if-empty")
    assert Lesson.objects.count() == count - 10  # the data folder was seeded before: nothing re-added


def test_if_empty_leaves_a_folder_with_records_alone(settings):
    from tests.curation.factories import make_lesson

    make_lesson()
    _seed("--if-empty")
    assert Lesson.objects.count() == 1


def test_seed_demo_off_turns_the_first_run_seeding_off(settings):
    settings.SEED_DEMO = False
    out = _seed("--if-empty")
    assert "SEED_DEMO is off" in out and Lesson.objects.count() == 0


def test_the_sample_data_gives_every_curation_stage_work(settings):
    settings.GIT_ALLOWED_ROOTS = []
    _seed()
    redacted = [lesson for lesson in Lesson.objects.all() if (lesson.metadata or {}).get("secret_findings")
                or "[REDACTED:" in lesson.action]
    assert len(redacted) >= 4  # planted secrets are caught at the door
    Lesson.objects.update(review_status=ReviewStatus.APPROVED)
    build = run_build(start_build(None, name="demo", format="alpaca", queue=False).pk)
    assert build.status == JobStatus.SUCCEEDED, build.error
    reasons = {stage["stage"]: stage["reasons"] for stage in build.funnel}
    assert reasons["filters"].get("failed_outcome", 0) >= 5
    assert reasons["exact_dedup"].get("exact_duplicate", 0) >= 3
    assert reasons["near_dedup"].get("near_duplicate", 0) >= 1


def test_it_clones_the_shipped_demo_repository_into_the_workspace_and_mines_it(settings, tmp_path):
    settings.WORKSPACE_ROOT = tmp_path / "workspace"
    settings.GIT_ALLOWED_ROOTS = [tmp_path / "workspace"]
    out = _seed()
    repository = GitRepository.objects.get(name="academy-demo-repository")
    assert repository.latest_mining.status == "succeeded"
    assert (tmp_path / "workspace" / "academy-demo-repository" / "report.py").is_file()
    examples = CommitExample.objects.filter(repository=repository)
    assert examples.count() >= 8
    assert examples.filter(message__startswith="Count a missing price as zero").exists()
    assert "cloned the demo repository" in out
    _seed()  # idempotent: the clone is kept, nothing is mined twice
    assert CommitExample.objects.filter(repository=repository).count() == examples.count()


def test_the_demo_repository_is_not_cloned_outside_the_allowed_roots(settings, tmp_path):
    settings.WORKSPACE_ROOT = tmp_path / "workspace"
    settings.GIT_ALLOWED_ROOTS = [tmp_path / "elsewhere"]
    out = _seed()
    assert not (tmp_path / "workspace" / "academy-demo-repository").exists()
    assert "demo repository was not cloned" in out and "outside the allowed roots" in out
