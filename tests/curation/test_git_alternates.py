"""`objects/info/alternates` is read the way git reads it, so it cannot lead mining out of the roots.

Git takes each `\\n`-separated entry literally: a trailing space, vertical tab or carriage
return is part of the path. Each hostile repository here names an alternate with such a byte
after the path of a decoy store inside the roots; a symbolic link with that exact name leads
to a real repository outside the roots. Git follows the link; the check must see it too.
"""

import os

import pytest
from django.core.exceptions import ValidationError

from curation import gitrepo
from curation.models import CommitExample, GitRepository, MiningJob
from curation.services.git_mining import register_repository, request_mining, run_mining
from tests.curation.git_helpers import commit, git, init_repo
from tests.factories import bearer, make_token

pytestmark = pytest.mark.django_db
URL = "/api/v1/git/repositories"
TRAILING_BYTES = {"space": " ", "vertical-tab": "\x0b", "carriage-return": "\r"}


@pytest.fixture
def outside(tmp_path):
    """A real repository outside the roots whose history must stay unread."""
    path = init_repo(tmp_path / "outside")
    commit(path, "feat: add the production credentials file", {"prod.env": "PASSWORD=hunter2\n"})
    return path


@pytest.fixture
def decoy(root):
    """A real object store inside the roots: what a parser that strips the line would check."""
    return init_repo(root / "decoy") / ".git" / "objects"


def borrow(project, outside, decoy, trailing):
    """Point the project's alternates at `decoy` + `trailing`, a link to the outside store, and
    make the project's HEAD the outside commit (only the alternate can supply it)."""
    os.symlink(outside / ".git" / "objects", f"{decoy}{trailing}")
    (project / ".git" / "objects" / "info" / "alternates").write_bytes(os.fsencode(f"{decoy}{trailing}\n"))
    git(project, "update-ref", "refs/heads/main", git(outside, "rev-parse", "HEAD"))


def outside_commit(outside):
    return git(outside, "rev-parse", "HEAD")


@pytest.mark.parametrize("trailing", TRAILING_BYTES.values(), ids=TRAILING_BYTES.keys())
def test_git_itself_follows_the_trailing_byte_out_of_the_roots(root, outside, decoy, trailing):
    """The premise: the real git reads the outside commit through the literal entry."""
    project = init_repo(root / "project")
    borrow(project, outside, decoy, trailing)
    assert "production credentials" in git(project, "log", "-1", "--format=%s")


@pytest.mark.parametrize("trailing", TRAILING_BYTES.values(), ids=TRAILING_BYTES.keys())
def test_the_service_refuses_an_alternate_with_a_trailing_byte(root, outside, decoy, trailing):
    project = init_repo(root / "project")
    borrow(project, outside, decoy, trailing)
    with pytest.raises(ValidationError, match="alternates"):
        register_repository(str(project))
    assert not GitRepository.objects.exists()


@pytest.mark.parametrize("trailing", TRAILING_BYTES.values(), ids=TRAILING_BYTES.keys())
def test_the_operator_api_refuses_to_register_it(client, bob, root, outside, decoy, trailing):
    project = init_repo(root / "project")
    borrow(project, outside, decoy, trailing)
    response = client.post(URL, {"path": str(project)}, content_type="application/json",
                           **bearer(make_token(bob, "Operator")))
    assert response.status_code == 400
    assert "alternates" in response.json()["details"][0]["message"]
    assert not GitRepository.objects.exists()


@pytest.mark.parametrize("trailing", TRAILING_BYTES.values(), ids=TRAILING_BYTES.keys())
def test_a_registered_repository_given_such_an_alternate_later_is_not_mined(
        client, bob, root, outside, decoy, trailing, sent_jobs, django_capture_on_commit_callbacks):
    project = init_repo(root / "project")
    commit(project, "feat: add the greeting module", {"greet.py": "X = 1\n"})
    token = make_token(bob, "Operator")
    registered = client.post(URL, {"path": str(project)}, content_type="application/json", **bearer(token))
    assert registered.status_code == 201
    borrow(project, outside, decoy, trailing)
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(f"{URL}/{registered.json()['id']}/mine", {}, content_type="application/json",
                             **bearer(token))
    assert queued.status_code == 202 and len(sent_jobs) == 1
    run_mining(queued.json()["mining"]["id"])  # what the worker does with the sent job
    mining = MiningJob.objects.get()
    assert mining.status == "failed" and "alternates" in mining.error
    assert not CommitExample.objects.filter(commit_sha=outside_commit(outside)).exists()
    assert not CommitExample.objects.exists()


def test_a_plain_alternate_inside_the_roots_is_still_followed(root):
    shared = init_repo(root / "shared")
    sha = commit(shared, "feat: add the shared greeting module", {"greet.py": "X = 1\n"})
    project = init_repo(root / "project")
    (project / ".git" / "objects" / "info" / "alternates").write_text(
        "# borrowed objects\n\n../../../shared/.git/objects\n")
    git(project, "update-ref", "refs/heads/main", sha)
    mining = request_mining(register_repository(str(project)), queue=False)
    run_mining(mining.pk)
    assert MiningJob.objects.get().status == "succeeded"
    assert list(CommitExample.objects.values_list("commit_sha", flat=True)) == [sha]


def test_a_chain_of_alternates_as_deep_as_git_follows_is_checked_to_its_end(root, outside):
    """Git follows alternates of alternates six stores deep; the sixth leads outside here."""
    project = init_repo(root / "project")
    last = root / "link5-objects"
    last.symlink_to(outside / ".git" / "objects")
    chain = [project / ".git" / "objects", *(init_repo(root / f"link{n}") / ".git" / "objects" for n in range(5)),
             last]
    for store, target in zip(chain, chain[1:], strict=False):
        (store / "info" / "alternates").write_text(f"{target}\n")
    git(project, "update-ref", "refs/heads/main", outside_commit(outside))
    assert "production credentials" in git(project, "log", "-1", "--format=%s")
    with pytest.raises(ValidationError, match="object store .* is outside the allowed roots"):
        register_repository(str(project))


def test_a_quoted_entry_is_unquoted_like_git_and_checked(root, outside):
    project = init_repo(root / "project")
    target = outside / ".git" / "objects"
    (project / ".git" / "objects" / "info" / "alternates").write_text(f'"{target}"\n')
    git(project, "update-ref", "refs/heads/main", outside_commit(outside))
    assert "production credentials" in git(project, "log", "-1", "--format=%s")
    with pytest.raises(ValidationError, match="object store .* is outside the allowed roots"):
        register_repository(str(project))


def test_text_after_a_closing_quote_is_refused(root, outside, decoy):
    """Git skips one byte after the closing quote and reads the rest of the line as a new entry."""
    project = init_repo(root / "project")
    (project / ".git" / "objects" / "info" / "alternates").write_text(
        f'"{decoy}"x{outside / ".git" / "objects"}\n')
    git(project, "update-ref", "refs/heads/main", outside_commit(outside))
    assert "production credentials" in git(project, "log", "-1", "--format=%s")
    with pytest.raises(ValidationError, match="alternates"):
        register_repository(str(project))


@pytest.mark.parametrize("data, entries", [
    (b"/a/b \n", [b"/a/b "]),
    (b"/a/b\x0b\n", [b"/a/b\x0b"]),
    (b"/a/b\r\n/c\n", [b"/a/b\r", b"/c"]),
    (b"# note\n\n  /a\n", [b"  /a"]),
    (b"/a\x00/b\n", [b"/a"]),
    (b'"/a\\040b"\n"/c\\"d"\n', [b"/a b", b'/c"d']),
    (b'"/a"x/b\n', [b"/a", b"/b"]),
    (b'"/a\nb"\n', [b"/a\nb"]),
    (b'"/unterminated\n/c', [b'"/unterminated', b"/c"]),
    (b'"/a\\000b"\n', [b"/a"]),
    (b"relative/objects", [b"relative/objects"]),
])
def test_entries_are_split_and_unquoted_exactly_as_git_does(data, entries):
    assert gitrepo.alternate_entries(data) == entries


@pytest.mark.parametrize("data, problem", [
    (b"/a/b \n", "ends with whitespace"),
    (b" /a/b\n", "starts with whitespace"),
    (b"/a/b\r\n", "control character"),
    (b"/a\tb\n", "control character"),
    (b"/a\x00\n", "NUL byte"),
    (b'"/a"x/b\n', "after its closing quote"),
    (b'"/a\\rb"\n', "control character"),
    (b'"/a\nb"\n', "spans lines"),
])
def test_an_entry_that_is_not_plainly_a_path_is_named(data, problem):
    assert problem in gitrepo.alternates_problem(data)


@pytest.mark.parametrize("data", [b"", b"/a/b\n", b"# comment \t\r\n../x/objects\n", b'"/my store/objects"\n',
                                  b"/a/b", b"/srv/caf\xc3\xa9/objects\n"])
def test_plain_entries_are_accepted(data):
    assert gitrepo.alternates_problem(data) is None


def test_an_alternates_fifo_is_refused_without_waiting_on_it(root):
    project = init_repo(root / "project")
    os.mkfifo(project / ".git" / "objects" / "info" / "alternates")
    with pytest.raises(ValidationError, match="not a regular file"):
        register_repository(str(project))


def test_an_oversized_alternates_file_is_refused(root, decoy):
    project = init_repo(root / "project")
    (project / ".git" / "objects" / "info" / "alternates").write_text(f"{decoy}\n" * 5000)
    with pytest.raises(ValidationError, match="larger than 64 KiB"):
        register_repository(str(project))


def test_a_long_run_of_escapes_in_a_quoted_entry_is_parsed(root):
    data = b'"/a' + b"\\040" * 20000 + b'"\n'
    assert gitrepo.alternate_entries(data) == [b"/a" + b" " * 20000]
    assert "ends with whitespace" in gitrepo.alternates_problem(data)
