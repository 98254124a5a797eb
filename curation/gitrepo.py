"""The one module that talks to git (through GitPython); everything else calls it.

Mining reads history through a single streamed `git log -p` run and parses it
incrementally, instead of asking for one diff object per commit: one process for the whole
range keeps mining fast and memory flat however long the history is. Only full commit
shas (never user text) reach git's command line.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import git
from git.exc import BadName, GitCommandError, InvalidGitRepositoryError, NoSuchPathError

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
# Each commit starts with NUL NUL at the beginning of a line. Diff lines always begin
# with a prefix character (" ", "+", "-", "@", "\\" or a header keyword), so this
# separator can never occur inside a diff, and commit messages cannot hold NUL.
_FORMAT = "%x00%x00%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%B%x00"
_SEPARATOR = b"\n\x00\x00"
_CHUNK = 1 << 16
# "branch" names accepted from users: plain ref names, never something git could read as an option.
_REF_RE = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/+-]{1,200}$")


class GitError(Exception):
    """Git could not do what was asked; the message is fit for a user."""


class NotARepository(GitError):
    """The path is not the top of a git working tree (or a bare repository)."""


@dataclass(slots=True)
class FileDiff:
    """One file's part of a commit's patch, header lines included."""

    path: str
    old_path: str
    binary: bool
    text: str


@dataclass(slots=True)
class RawCommit:
    """A non-merge commit as read from `git log`. The e-mail is for bot detection only."""

    sha: str
    parents: list[str]
    author_name: str
    author_email: str
    authored_at: int
    message: str
    files: list[FileDiff] = field(default_factory=list)


def _open(path: Path | str) -> git.Repo:
    try:
        return git.Repo(str(path), search_parent_directories=False)
    except NoSuchPathError:
        raise NotARepository(f"{path} does not exist") from None
    except InvalidGitRepositoryError:
        raise NotARepository(f"{path} is not a git repository (no .git at its top)") from None


def repository_root(path: Path | str) -> Path:
    """The top folder of the repository at `path`; `path` itself must be that top."""
    repo = _open(path)
    top = Path(repo.working_tree_dir or repo.git_dir).resolve()
    if top != Path(path).resolve():
        raise NotARepository(f"{path} is inside a repository; register its top folder {top}")
    return top


def is_valid_ref_name(name: str) -> bool:
    return bool(_REF_RE.match(name))


def resolve_revision(path: Path | str, revision: str = "") -> str:
    """The full sha that `revision` (a branch name, or empty for HEAD) points to."""
    if revision and not is_valid_ref_name(revision):
        raise GitError(f"{revision!r} is not a valid branch name")
    repo = _open(path)
    try:
        # rev_parse runs in Python: the name is never handed to a git process.
        return repo.rev_parse(revision or "HEAD").hexsha
    except (BadName, ValueError, IndexError):
        if revision:
            raise GitError(f"branch {revision!r} does not exist in {path}") from None
        raise GitError(f"{path} has no commits yet") from None


def is_ancestor(path: Path | str, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is reachable from `descendant` (False if it no longer exists)."""
    if not (_SHA_RE.match(ancestor) and _SHA_RE.match(descendant)):
        return False
    try:
        return _open(path).is_ancestor(ancestor, descendant)
    except GitCommandError:
        return False


def _range_args(head: str, since: str) -> list[str]:
    for sha in (head, since):
        if sha and not _SHA_RE.match(sha):
            raise GitError(f"{sha!r} is not a full commit sha")
    return [f"{since}..{head}"] if since else [head]


def count_commits(path: Path | str, head: str, since: str = "", *, merges: bool = False) -> int:
    """How many non-merge (or, with merges=True, merge) commits the range holds."""
    flag = "--merges" if merges else "--no-merges"
    out = _open(path).git.rev_list("--count", flag, *_range_args(head, since))
    return int(out.strip() or 0)


def iter_commits(path: Path | str, head: str, since: str = "") -> Iterator[RawCommit]:
    """Stream the non-merge commits of `since..head` (newest first) with their patches."""
    repo = _open(path)
    # No external diff or textconv: a repository's own config could otherwise make git run its commands.
    process = repo.git.execute(
        ["git", "-c", "core.quotepath=off", "log", "--no-merges", "--no-color", "--no-ext-diff", "--no-textconv",
         "--find-renames", "-p", f"--format={_FORMAT}", *_range_args(head, since), "--"],
        as_process=True,
    )
    try:
        for record in _records(process.stdout):
            yield _parse_commit(record)
    finally:
        process.stdout.close()
        process.wait()


def _records(stream) -> Iterator[bytes]:
    """Split the byte stream into one record per commit without holding the whole output."""
    buffer = bytearray(b"\n")  # the first commit has no newline before its separator
    search_from = 0
    while True:
        chunk = stream.read(_CHUNK)
        if chunk:
            buffer += chunk
        while True:
            index = buffer.find(_SEPARATOR, search_from)
            if index < 0:
                break
            if index > 0:
                yield bytes(buffer[:index])
            del buffer[: index + len(_SEPARATOR)]
            search_from = 0
        if not chunk:
            break
        search_from = max(0, len(buffer) - len(_SEPARATOR) + 1)
    if buffer.strip(b"\n"):
        yield bytes(buffer)


def _parse_commit(record: bytes) -> RawCommit:
    head, _, patch = record.partition(b"\x00")
    sha, parents, name, email, stamp, message = head.decode("utf-8", "replace").split("\x1f", 5)
    commit = RawCommit(sha=sha, parents=parents.split(), author_name=name, author_email=email,
                       authored_at=int(stamp or 0), message=message.strip())
    text = patch.decode("utf-8", "replace").lstrip("\n")
    if text:
        commit.files = [_parse_file(block) for block in _file_blocks(text)]
    return commit


def _file_blocks(text: str) -> Iterator[str]:
    start = text.find("diff --git ")
    while start >= 0:
        end = text.find("\ndiff --git ", start)
        yield text[start:] if end < 0 else text[start : end + 1]
        start = -1 if end < 0 else end + 1


def _unquote(name: str) -> str:
    # Git still quotes names holding quotes, backslashes or control characters.
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        return name[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape").encode(
            "latin-1", "replace").decode("utf-8", "replace")
    return name


def _strip_prefix(name: str) -> str:
    name = _unquote(name.rstrip("\t"))
    return name[2:] if name[:2] in ("a/", "b/") else name


def _parse_file(block: str) -> FileDiff:
    """Read paths and the binary flag from the block's header; drop `index` lines (hash noise)."""
    first_hunk = block.find("\n@@ ")
    header_end = len(block) if first_hunk < 0 else first_hunk + 1
    header_lines = block[:header_end].splitlines(keepends=True)
    rest = block[header_end:]
    names = header_lines[0][len("diff --git "):].rstrip("\n")
    half = (len(names) - 1) // 2
    old_path = new_path = _strip_prefix(names[:half]) if names[half:half + 1] == " " else ""
    binary = False
    kept = []
    for line in header_lines:
        if line.startswith("index "):
            continue
        kept.append(line)
        if line.startswith("rename from ") or line.startswith("copy from "):
            old_path = _unquote(line.split(" ", 2)[2].rstrip("\n"))
        elif line.startswith("rename to ") or line.startswith("copy to "):
            new_path = _unquote(line.split(" ", 2)[2].rstrip("\n"))
        elif line.startswith("--- ") and not line.startswith("--- /dev/null"):
            old_path = _strip_prefix(line[4:].rstrip("\n"))
        elif line.startswith("+++ ") and not line.startswith("+++ /dev/null"):
            new_path = _strip_prefix(line[4:].rstrip("\n"))
        elif line.startswith("Binary files ") or line.startswith("GIT binary patch"):
            binary = True
    if not new_path:  # a deletion: only the old name exists
        new_path = old_path
    if not old_path:
        old_path = new_path
    text = "".join(kept) + rest
    if not text.endswith("\n"):  # the commit separator took the last newline
        text += "\n"
    return FileDiff(path=new_path, old_path=old_path, binary=binary, text=text)
