import os

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from curation.models import CommitExample, GitRepository, MiningJob, ReviewStatus
from curation.services.git_mining import (
    content_key,
    mine_repository,
    register_repository,
    request_mining,
)
from curation.tasks.mining import execute_mining_task
from tests.curation.git_helpers import commit, git, greeting_repo, init_repo, lines
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def repo(root):
    return greeting_repo(root / "project", "app/greet.py")


def mine(path):
    repository = GitRepository.objects.filter(path=str(path)).first() or register_repository(str(path))
    stats = mine_repository(request_mining(repository, queue=False))
    MiningJob.objects.filter(repository=repository).update(status="succeeded", stats=stats)
    return repository, stats


def example(path, sha):
    return CommitExample.objects.get(repository__path=str(path), commit_sha=sha)


def test_it_keeps_a_commit_as_diff_and_message_with_its_conventional_type(repo):
    sha = commit(repo, "fix(parser): handle empty input gracefully", {"app/greet.py": "def greet():\n    return ''\n"})
    repository, stats = mine(repo)
    found = example(repo, sha)
    assert found.message == "fix(parser): handle empty input gracefully"
    assert "+    return ''\n" in found.diff and found.diff.startswith("diff --git a/app/greet.py b/app/greet.py\n")
    assert "\nindex " not in found.diff
    assert found.commit_type == "fix" and found.tags == ["fix"]
    assert found.content_key == content_key(str(repo), sha)
    assert stats["kept"] == 2 and stats["types"] == {"feat": 1, "fix": 1}


def test_it_auto_approves_git_examples_by_default_policy(repo):
    mine(repo)
    assert set(CommitExample.objects.values_list("review_status", flat=True)) == {ReviewStatus.APPROVED}


def test_it_never_stores_author_emails(repo):
    commit(repo, "docs: explain the greeting in detail", {"README.md": "Greets.\n"},
           author="Zed Writer <zed.secret@example.org>")
    repository, stats = mine(repo)
    for row in CommitExample.objects.values():
        assert "zed.secret@example.org" not in str(row)
    assert "zed.secret" not in str(repository.latest_mining.stats)
    assert example(repo, git(repo, "rev-parse", "HEAD")).author_name == "Zed Writer"


def test_it_skips_merge_commits(repo):
    git(repo, "checkout", "-q", "-b", "topic")
    topic = commit(repo, "feat: add the farewell function", {"app/bye.py": "def bye():\n    pass\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "docs: describe the project layout", {"README.md": "Layout.\n"})
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge branch topic into main with care", "topic")
    merge = git(repo, "rev-parse", "HEAD")
    _, stats = mine(repo)
    shas = set(CommitExample.objects.values_list("commit_sha", flat=True))
    assert merge not in shas and topic in shas
    assert stats["skipped"]["merge"] == 1


@pytest.mark.parametrize("author", [
    "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
    "renovate <bot@renovateapp.com>",
    "github-actions <41898282+github-actions[bot]@users.noreply.github.com>",
    "Helper Bot <helper@example.com>".replace("Helper Bot", "ci-helper[bot]"),
])
def test_it_skips_bot_authors(repo, author):
    sha = commit(repo, "chore(deps): bump requests from 2.31 to 2.32", {"app/deps.py": "X = 1\n"}, author=author)
    _, stats = mine(repo)
    assert not CommitExample.objects.filter(commit_sha=sha).exists()
    assert stats["skipped"]["bot_author"] == 1


@pytest.mark.parametrize("message", ["wip", "WIP", "fix", "Update", "typo.", "fix: typo", "ok", "fixup! feat: x y z"])
def test_it_skips_trivial_messages(repo, message):
    sha = commit(repo, message, {"app/greet.py": "def greet():\n    return 'hello'\n"})
    _, stats = mine(repo)
    assert not CommitExample.objects.filter(commit_sha=sha).exists()
    assert stats["skipped"]["trivial_message"] == 1


def test_the_minimum_message_length_is_a_setting(repo, settings):
    settings.GIT_MIN_MESSAGE_CHARS = 40
    sha = commit(repo, "feat: add a config reader", {"app/config.py": "A = 1\n"})
    mine(repo)
    assert not CommitExample.objects.filter(commit_sha=sha).exists()


@pytest.mark.parametrize("name, reason", [
    ("assets/logo.png", "binary"),
    ("package-lock.json", "lock_file"), ("yarn.lock", "lock_file"), ("poetry.lock", "lock_file"),
    ("Cargo.lock", "lock_file"), ("go.sum", "lock_file"), ("uv.lock", "lock_file"), ("pnpm-lock.yaml", "lock_file"),
    ("vendor/lib/x.go", "vendored"), ("third_party/z.c", "vendored"), ("web/node_modules/m/index.js", "vendored"),
    ("static/app.min.js", "generated"), ("static/app.js.map", "generated"), ("proto/api_pb2.py", "generated"),
    ("dist/bundle.js", "generated"), ("build/out.txt", "generated"),
])
def test_it_leaves_out_binary_lock_vendored_and_generated_files(repo, name, reason):
    content = b"\x89PNG\r\n\x1a\n\x00\x00\x00binary" if reason == "binary" else "content = 1\n"
    sha = commit(repo, "feat: add the reader and its assets", {"app/reader.py": "def read():\n    pass\n",
                                                                name: content})
    _, stats = mine(repo)
    found = example(repo, sha)
    assert "app/reader.py" in found.diff and name not in found.diff
    assert found.files_changed == 2 and found.metadata["files_kept"] == 1
    assert stats["files_skipped"] == {reason: 1}


def test_it_leaves_out_files_marked_as_generated(repo):
    sha = commit(repo, "feat: regenerate the client from its schema", {
        "client/api.py": "# Code generated by schema-gen. DO NOT EDIT.\nX = 1\n",
        "app/use.py": "from client.api import X\n",
    })
    mine(repo)
    assert "client/api.py" not in example(repo, sha).diff


def test_it_skips_commits_left_with_no_kept_file(repo):
    sha = commit(repo, "build: refresh the dependency lock files", {"poetry.lock": "x\n", "vendor/a.py": "y\n"})
    _, stats = mine(repo)
    assert not CommitExample.objects.filter(commit_sha=sha).exists()
    assert stats["skipped"]["no_kept_files"] == 1


def test_it_caps_a_long_diff_at_a_hunk_boundary_never_mid_line(repo, settings):
    original = lines("original", 300)
    commit(repo, "feat: add a long data module", {"app/data.py": original})
    changed = original.replace("original line 5\n", "changed line 5\n").replace(
        "original line 150\n", "changed line 150\n").replace("original line 290\n", "changed line 290\n")
    settings.GIT_MAX_DIFF_CHARS = 300  # room for the header and one hunk (~160 characters), not two
    sha = commit(repo, "refactor: rename three data lines", {"app/data.py": changed})
    mine(repo)
    found = example(repo, sha)
    assert found.diff_truncated
    assert len(found.diff) <= 300
    assert found.diff.count("@@ -") == 1
    assert "+changed line 5\n" in found.diff and "changed line 290" not in found.diff
    assert found.diff.endswith("\n")
    full_lines = set(git(repo, "show", "--format=", sha).splitlines())
    assert all(line in full_lines for line in found.diff.splitlines() if line[:1] in "+- @")


def test_it_caps_at_a_file_boundary_when_the_next_file_does_not_fit(repo, settings):
    settings.GIT_MAX_DIFF_CHARS = 400
    sha = commit(repo, "feat: add two modules at once", {"a/one.py": "A = 1\n", "b/two.py": lines("two", 40)})
    mine(repo)
    found = example(repo, sha)
    assert found.diff_truncated and "a/one.py" in found.diff and "b/two.py" not in found.diff


def test_a_small_diff_is_not_marked_truncated(repo):
    mine(repo)
    assert not CommitExample.objects.get().diff_truncated


def test_it_mines_only_new_commits_the_next_time(repo):
    repository, first = mine(repo)
    repository.refresh_from_db()
    assert repository.last_mined_sha == git(repo, "rev-parse", "HEAD")
    sha = commit(repo, "perf: cache the greeting string", {"app/greet.py": "GREETING = 'hi'\n"})
    repository, second = mine(repo)
    assert second["commits_seen"] == 1 and second["kept"] == 1 and second["since"] == first["head"]
    assert example(repo, sha).commit_type == "perf"
    assert CommitExample.objects.count() == 2


def test_a_rewritten_history_is_read_again_without_duplicates(repo):
    commit(repo, "feat: add the parting words", {"app/part.py": "BYE = 1\n"})
    mine(repo)
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    sha = commit(repo, "feat: add parting words, reworded", {"app/part.py": "BYE = 2\n"})
    _, stats = mine(repo)
    assert stats["history_rewritten"] is True
    assert stats["skipped"]["already_mined"] == 1 and stats["kept"] == 1
    assert CommitExample.objects.filter(commit_sha=sha).exists()
    assert CommitExample.objects.count() == 3


def test_it_refuses_a_path_outside_the_allowed_roots(tmp_path, root):
    outside = init_repo(tmp_path / "elsewhere")
    with pytest.raises(ValidationError, match="outside the allowed roots"):
        register_repository(str(outside))
    with pytest.raises(ValidationError, match="outside the allowed roots"):
        register_repository(str(root / ".." / "elsewhere"))
    assert not GitRepository.objects.exists()


def test_it_refuses_a_symlink_that_leads_outside_the_roots(tmp_path, root):
    outside = init_repo(tmp_path / "secret")
    os.symlink(outside, root / "link")
    with pytest.raises(ValidationError, match="outside the allowed roots"):
        register_repository(str(root / "link"))


def test_it_refuses_a_folder_that_is_not_a_repository(root):
    (root / "plain").mkdir()
    with pytest.raises(ValidationError, match="not a git repository"):
        register_repository(str(root / "plain"))
    with pytest.raises(ValidationError, match="does not exist"):
        register_repository(str(root / "missing"))


@pytest.mark.parametrize("branch, message", [("nope", "does not exist"), ("--output=/tmp/x", "not a valid branch")])
def test_it_refuses_a_bad_branch(repo, branch, message):
    with pytest.raises(ValidationError, match=message):
        register_repository(str(repo), branch=branch)


def test_it_refuses_registering_the_same_repository_twice(repo):
    register_repository(str(repo))
    with pytest.raises(ValidationError, match="already registered"):
        register_repository(str(repo) + "/.")


def test_the_task_mines_a_queued_repository_and_is_safe_to_repeat(repo, sent_jobs,
                                                                 django_capture_on_commit_callbacks):
    repository = register_repository(str(repo))
    with django_capture_on_commit_callbacks(execute=True):
        mining = request_mining(repository)
    assert sent_jobs == [("curation.MiningJob", mining.pk)]
    assert MiningJob.objects.get().status == "queued"
    stats = execute_mining_task(mining.pk)
    mining.refresh_from_db()
    assert stats["kept"] == 1 and mining.status == "succeeded" and mining.progress == 1.0
    assert mining.progress_done == mining.progress_total == 1
    assert mining.stats["kept"] == 1
    assert execute_mining_task(mining.pk) is None
    assert CommitExample.objects.count() == 1


def test_mining_cannot_be_queued_twice(repo):
    repository = register_repository(str(repo))
    request_mining(repository)
    with pytest.raises(ValidationError, match="already being mined"):
        request_mining(repository)


def test_a_finished_mining_can_be_followed_by_another(repo):
    repository = register_repository(str(repo))
    first = request_mining(repository)
    execute_mining_task(first.pk)
    second = request_mining(repository)
    assert second.pk != first.pk and repository.latest_mining == second


def test_the_task_records_a_readable_failure(repo):
    repository = register_repository(str(repo))
    mining = request_mining(repository)
    git(repo, "update-ref", "-d", "HEAD")  # a repository that lost its only branch
    execute_mining_task(mining.pk)
    mining.refresh_from_db()
    assert mining.status == "failed"
    assert "no commits" in mining.error and "no commits" in mining.human_error


def test_a_cancelled_queued_mining_is_never_run(repo):
    from jobs import lifecycle

    repository = register_repository(str(repo))
    mining = request_mining(repository)
    assert lifecycle.cancel(MiningJob, mining.pk) == "cancelled"
    assert execute_mining_task(mining.pk) is None
    assert not CommitExample.objects.exists()


def test_the_command_registers_mines_and_reports_counts(repo, capsys):
    commit(repo, "wip", {"app/x.py": "X = 1\n"})
    call_command("mine_git", str(repo))
    out = capsys.readouterr().out
    assert "2 commits read, 1 kept" in out and "skipped trivial_message: 1" in out
    assert GitRepository.objects.get().latest_mining.status == "succeeded"
    call_command("mine_git", str(repo))
    assert "0 commits read, 0 kept" in capsys.readouterr().out


def test_the_command_fails_with_the_reason_for_a_bad_path(root):
    with pytest.raises(CommandError, match="not a git repository"):
        call_command("mine_git", str(root))


def test_admins_reject_examples_in_bulk_from_the_admin(repo, client):
    root = make_user("root", is_staff=True, is_superuser=True)
    mine(repo)
    client.force_login(root)
    ids = [str(pk) for pk in CommitExample.objects.values_list("pk", flat=True)]
    response = client.post("/admin/curation/commitexample/", {"action": "reject", "_selected_action": ids})
    assert response.status_code == 302
    found = CommitExample.objects.get()
    assert (found.review_status, found.reviewed_by) == (ReviewStatus.REJECTED, root)


def test_the_service_refuses_mining_to_a_role_that_cannot_ingest(repo, carol):
    from django.core.exceptions import PermissionDenied

    repository = register_repository(str(repo))
    with pytest.raises(PermissionDenied, match="this needs the Operator role"):
        request_mining(repository, user=carol)
    assert not MiningJob.objects.exists()
