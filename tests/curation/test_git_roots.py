"""GIT_ALLOWED_ROOTS holds wherever git really reads history from, not only the working tree."""

import os
import shutil

import pytest
from django.core.exceptions import ValidationError

from curation.models import CommitExample, GitRepository
from curation.services.git_mining import mine_repository, register_repository, request_mining
from tests.curation.git_helpers import commit, git, init_repo

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(tmp_path):
    """A repository outside the roots whose history must stay unread."""
    path = init_repo(tmp_path / "secret")
    commit(path, "feat: add the production credentials", {"prod.env": "PASSWORD=hunter2\n"})
    return path


def tree_in_roots(root, name="project"):
    path = root / name
    path.mkdir()
    return path


def assert_refused(path, what):
    with pytest.raises(ValidationError, match=f"its {what} .* is outside the allowed roots"):
        register_repository(str(path))
    assert not GitRepository.objects.exists()


def test_a_git_file_pointing_outside_is_refused(root, secret):
    project = tree_in_roots(root)
    (project / ".git").write_text(f"gitdir: {secret / '.git'}\n")
    assert_refused(project, "git directory")


def test_a_git_symlink_pointing_outside_is_refused(root, secret):
    project = tree_in_roots(root)
    (project / ".git").symlink_to(secret / ".git")
    assert_refused(project, "git directory")


def test_a_git_file_through_a_symlinked_parent_is_refused(root, secret):
    (root / "innocent").symlink_to(secret)
    project = tree_in_roots(root)
    (project / ".git").write_text(f"gitdir: {root / 'innocent' / '.git'}\n")
    assert_refused(project, "git directory")


def test_a_git_file_climbing_out_with_dot_dot_is_refused(root, secret):
    project = tree_in_roots(root)
    (project / ".git").write_text("gitdir: ../../secret/.git\n")
    assert_refused(project, "git directory")


def test_a_worktree_whose_common_dir_is_outside_is_refused(root, secret):
    git(secret, "worktree", "add", "-q", str(root / "checkout"))
    # Move the worktree's own git dir inside the roots: only the common dir still leads out.
    inside = root / "checkout-gitdir"
    shutil.copytree(secret / ".git" / "worktrees" / "checkout", inside)
    (inside / "commondir").write_text(f"{secret / '.git'}\n")
    (root / "checkout" / ".git").write_text(f"gitdir: {inside}\n")
    assert_refused(root / "checkout", "common git directory")


def test_alternates_outside_the_roots_are_refused(root, secret):
    project = init_repo(root / "project")
    (project / ".git" / "objects" / "info" / "alternates").write_text(f"{secret / '.git' / 'objects'}\n")
    git(project, "update-ref", "HEAD", git(secret, "rev-parse", "HEAD"))
    assert_refused(project, "object store")


def test_a_pack_linked_in_from_outside_is_refused(root, secret):
    git(secret, "gc", "-q")
    project = init_repo(root / "project")
    [pack] = (secret / ".git" / "objects" / "pack").glob("*.pack")
    for source in pack.parent.iterdir():
        (project / ".git" / "objects" / "pack" / source.name).symlink_to(source)
    git(project, "update-ref", "HEAD", git(secret, "rev-parse", "HEAD"))
    assert_refused(project, "linked object file")


def test_a_repository_already_registered_is_checked_again_when_mined(root, secret):
    project = init_repo(root / "project")
    commit(project, "feat: add the greeting module", {"greet.py": "X = 1\n"})
    repository = register_repository(str(project))
    shutil.rmtree(project / ".git")
    (project / ".git").write_text(f"gitdir: {secret / '.git'}\n")
    with pytest.raises(ValidationError, match="outside the allowed roots"):
        mine_repository(request_mining(repository, queue=False))
    assert not CommitExample.objects.exists()


def test_a_separate_git_dir_and_a_worktree_inside_the_roots_are_accepted(root):
    git(root, "init", "-q", "-b", "main", f"--separate-git-dir={root / 'store.git'}", str(root / "project"))
    commit(root / "project", "feat: add the greeting module", {"greet.py": "X = 1\n"})
    git(root / "project", "worktree", "add", "-q", "-b", "topic", str(root / "topic"))
    for path in (root / "project", root / "topic"):
        repository = register_repository(str(path))
        assert mine_repository(request_mining(repository, queue=False))["kept"] == 1
    assert CommitExample.objects.count() == 2
    assert os.path.isfile(root / "project" / ".git")
