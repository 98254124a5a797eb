import pytest

from curation import gitrepo
from tests.curation.git_helpers import commit, git, init_repo, lines


@pytest.fixture
def repo(tmp_path):
    path = init_repo(tmp_path / "r")
    commit(path, "feat: first", {"old name.py": lines("kept", 30), "żółw.txt": "turtle\n", "logo.bin": b"\x00\x01\x02"})
    return path


def files_of(path, sha):
    return next(gitrepo.iter_commits(path, sha, git(path, "rev-parse", f"{sha}~1") if sha else "")).files


def test_it_reads_paths_with_spaces_and_non_ascii_names_and_flags_binaries(repo):
    files = {f.path: f for f in next(gitrepo.iter_commits(repo, gitrepo.resolve_revision(repo))).files}
    assert set(files) == {"old name.py", "żółw.txt", "logo.bin"}
    assert files["logo.bin"].binary and not files["żółw.txt"].binary
    assert files["żółw.txt"].text.endswith("+turtle\n")


def test_it_reports_renames_with_both_names(repo):
    git(repo, "mv", "old name.py", "new_name.py")
    sha = commit(repo, "refactor: rename the module", {})
    [renamed] = files_of(repo, sha)
    assert (renamed.old_path, renamed.path) == ("old name.py", "new_name.py")
    assert "rename from old name.py\nrename to new_name.py\n" in renamed.text


def test_it_reads_only_the_asked_range_and_counts_it(repo):
    first = gitrepo.resolve_revision(repo)
    second = commit(repo, "docs: add notes", {"notes.md": "n\n"})
    third = commit(repo, "docs: add more notes", {"notes.md": "n\nm\n"})
    assert [c.sha for c in gitrepo.iter_commits(repo, third, first)] == [third, second]
    assert gitrepo.count_commits(repo, third, first) == 2
    assert gitrepo.is_ancestor(repo, first, third) and not gitrepo.is_ancestor(repo, third, first)


def test_it_refuses_shas_that_are_not_full_hex(repo):
    with pytest.raises(gitrepo.GitError):
        list(gitrepo.iter_commits(repo, "--output=/tmp/x"))
