"""The one module that talks to git; everything else calls it.

Mining reads history through a single streamed `git log -p` run and parses it
incrementally, instead of asking for one diff object per commit: one process for the whole
range keeps mining fast and memory flat however long the history is. Only full commit
shas and validated branch names (never free user text) reach git's command line.

A registered repository is untrusted input: whoever can write into it controls its
`.git/config`, and git reads that file on every run. Several keys there name programs
that git starts by itself (gpg.program when log.showSignature is on, core.fsmonitor,
core.sshCommand for a partial clone's lazy fetch, textconv and filter drivers, pagers...).
So every git process started here gets a scrubbed environment (no system or user config,
an empty HOME, no inherited GIT_* variables) and command-scope config that overrides each
such key; command-scope config outranks the repository's own file. Keys whose names the
repository chooses (diff.<driver>.textconv, filter.<driver>.clean, ...) are read from the
repository's config and overridden one by one as well.
"""

import functools
import os
import re
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
# Each commit starts with NUL NUL at the beginning of a line. Diff lines always begin
# with a prefix character (" ", "+", "-", "@", "\\" or a header keyword), so this
# separator can never occur inside a diff, and commit messages cannot hold NUL.
_FORMAT = "%x00%x00%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%B%x00"
_SEPARATOR = b"\n\x00\x00"
_CHUNK = 1 << 16
# "branch" names accepted from users: plain ref names, never something git could read as an option.
_REF_RE = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/+-]{1,200}$")
# Git follows alternates of alternates six stores deep (the limit has moved between versions);
# the check walks the whole graph instead, which can only see more than git reads, never less.
_MAX_ALTERNATE_STORES = 100
_MAX_ALTERNATES_BYTES = 64 * 1024
# git's unquote_c_style escapes (quote.c); octal escapes are handled apart.
_C_ESCAPES = {ord("a"): 0x07, ord("b"): 0x08, ord("f"): 0x0C, ord("n"): 0x0A, ord("r"): 0x0D, ord("t"): 0x09,
              ord("v"): 0x0B, ord("\\"): ord("\\"), ord('"'): ord('"')}

# Keys that make git start a program (or reach out over the network, which can start one),
# with values that start nothing. Protected keys (uploadpack.packObjectsHook, safe.directory)
# are only read from system/global/command scope, which the environment below empties.
_SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull),
    ("core.fsmonitor", "false"),
    ("core.pager", "cat"),
    ("core.editor", "true"),
    ("sequence.editor", "true"),
    ("core.sshCommand", "false"),
    ("core.gitProxy", ""),
    ("core.askPass", ""),
    ("core.alternateRefsCommand", "true"),
    ("credential.helper", ""),  # an empty value clears the list of helpers
    ("diff.external", ""),
    ("diff.submodule", "short"),  # "log"/"diff" would open submodule repositories elsewhere
    ("gpg.program", "false"),
    ("gpg.openpgp.program", "false"),
    ("gpg.x509.program", "false"),
    ("gpg.ssh.program", "false"),
    ("gpg.ssh.defaultKeyCommand", "false"),
    ("log.showSignature", "false"),
    ("log.mailmap", "false"),
    # No transport at all: a partial clone's lazy fetch would otherwise run ssh, a remote
    # helper or remote.<name>.uploadpack, all chosen by the repository.
    ("protocol.allow", "never"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("core.quotepath", "off"),
)

# Repository-named keys that hold a program, by (section, variable); "*" is any variable.
_PROGRAM_KEYS: dict[tuple[str, str], str] = {
    ("diff", "textconv"): "cat",
    ("diff", "command"): "false",
    ("filter", "clean"): "cat",
    ("filter", "smudge"): "cat",
    ("filter", "process"): "",
    ("merge", "driver"): "false",
    ("gpg", "program"): "false",
    ("credential", "helper"): "",
    ("remote", "uploadpack"): "false",
    ("remote", "receivepack"): "false",
    ("remote", "vcs"): "",
    ("remote", "proxy"): "",
    ("trailer", "command"): "false",
    ("trailer", "cmd"): "false",
    ("difftool", "cmd"): "false",
    ("mergetool", "cmd"): "false",
}
# Two-level keys named by the repository: pager.<command> may hold a program.
_PROGRAM_SECTIONS: dict[str, str] = {"pager": "false"}

# Inherited variables that would point git at other config, other repositories or programs.
_DROPPED_ENV = ("HOME", "XDG_CONFIG_HOME", "PAGER", "EDITOR", "VISUAL", "SSH_ASKPASS", "LESSOPEN", "LESSCLOSE")


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


@dataclass(frozen=True, slots=True)
class RepositoryDirs:
    """Where git really reads a repository from, every path resolved (symlinks, `..`, `.git` files)."""

    top: Path
    git_dir: Path
    common_dir: Path
    object_dirs: tuple[Path, ...]  # the object store, then each alternate it borrows from
    linked_paths: tuple[Path, ...] = ()  # targets of symbolic links inside the object stores

    def labelled_paths(self) -> list[tuple[str, Path]]:
        return [("top folder", self.top), ("git directory", self.git_dir), ("common git directory", self.common_dir),
                *(("object store", path) for path in self.object_dirs),
                *(("linked object file", path) for path in self.linked_paths)]


@functools.cache
def _empty_home() -> str:
    # Git looks for ~/.gitconfig and ~/.config/git/* under HOME; an empty private folder has none.
    return tempfile.mkdtemp(prefix="academy-git-home-")


def _base_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("GIT_") and key not in _DROPPED_ENV}
    home = _empty_home()
    env.update({
        "HOME": home, "XDG_CONFIG_HOME": home,
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_SYSTEM": os.devnull, "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ATTR_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "PAGER": "cat",
        "GIT_ASKPASS": "", "SSH_ASKPASS": "", "GIT_EDITOR": "true",
        "GIT_ALLOW_PROTOCOL": "", "GIT_PROTOCOL_FROM_USER": "0", "GIT_NO_LAZY_FETCH": "1",
        "GIT_OPTIONAL_LOCKS": "0", "GIT_NO_REPLACE_OBJECTS": "1", "LC_ALL": "C",
    })
    return env


def _with_config(env: dict[str, str], pairs) -> dict[str, str]:
    # GIT_CONFIG_COUNT/KEY/VALUE is command-line scope, like `-c`, without `-c`'s
    # "key=value" splitting (a subsection name chosen by the repository may hold "=").
    pairs = list(pairs)
    env = dict(env)
    env["GIT_CONFIG_COUNT"] = str(len(pairs))
    for index, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def safe_environment() -> dict[str, str]:
    """The environment for a git process that names no repository-chosen keys."""
    return _with_config(_base_environment(), _SAFE_CONFIG)


def _program_key_overrides(config_listing: bytes) -> list[tuple[str, str]]:
    """Overrides for the repository's own keys of the form <section>.<name>.<program key>."""
    overrides = []
    for entry in config_listing.split(b"\0"):
        key = entry.partition(b"\n")[0].decode("utf-8", "surrogateescape")
        section, _, rest = key.partition(".")
        subsection, _, variable = rest.rpartition(".")
        section, variable = section.lower(), variable.lower()
        value = _PROGRAM_KEYS.get((section, variable)) if subsection else _PROGRAM_SECTIONS.get(section)
        if value is not None:
            overrides.append((key, value))
    return overrides


def _environment(path: Path | str) -> dict[str, str]:
    """The hardened environment for git runs in the repository at `path`."""
    env = safe_environment()
    listing = subprocess.run(["git", "config", "--null", "--list"], cwd=path, env=env,
                             capture_output=True, check=False).stdout
    return _with_config(env, [*_SAFE_CONFIG, *_program_key_overrides(listing)])


def _run(path: Path | str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "--no-pager", *args], cwd=path, env=env or _environment(path),
                              capture_output=True, check=False)
    except (FileNotFoundError, NotADirectoryError):
        raise NotARepository(f"{path} does not exist") from None


def _failure(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].removeprefix("fatal: ") if lines else f"git exited with status {done.returncode}"


def locate(path: Path | str) -> RepositoryDirs:
    """Ask git where the repository at `path` lives; `path` itself must be its top folder.

    Every directory git would read objects from is returned resolved, so the caller can
    check them against its allowed roots: a `.git` file (`gitdir: /elsewhere`), a `.git`
    symlink, a worktree's `commondir`, alternates and symlinked object files all lead git
    somewhere other than `path`.
    """
    path = Path(path)
    if not path.is_dir():
        raise NotARepository(f"{path} does not exist")
    env = safe_environment()
    done = _run(path, "rev-parse", "--is-bare-repository", "--absolute-git-dir", "--git-common-dir",
                "--git-path", "objects", env=env)
    if done.returncode != 0:
        reason = _failure(done)
        if "dubious ownership" in reason:
            raise NotARepository(f"{path} belongs to another user; git refuses to read it")
        raise NotARepository(f"{path} is not a git repository (no .git at its top)")
    bare, git_dir, common_dir, objects = done.stdout.decode("utf-8", "surrogateescape").splitlines()[:4]
    git_dir = Path(os.path.realpath(git_dir))
    common_dir = Path(os.path.realpath(path / common_dir))
    if bare == "true":
        top = git_dir
    else:
        shown = _run(path, "rev-parse", "--show-toplevel", env=env)
        if shown.returncode != 0:
            raise NotARepository(f"{path} is not the top of a git working tree ({_failure(shown)})")
        top = Path(os.path.realpath(shown.stdout.decode("utf-8", "surrogateescape").rstrip("\n")))
    if top != Path(os.path.realpath(path)):
        raise NotARepository(f"{path} is inside a repository; register its top folder {top}")
    object_dirs = _object_dirs(Path(os.path.realpath(path / objects)))
    return RepositoryDirs(top=top, git_dir=git_dir, common_dir=common_dir, object_dirs=object_dirs,
                          linked_paths=_link_targets(object_dirs))


def _object_dirs(objects: Path) -> tuple[Path, ...]:
    """The object store and, transitively, every alternate it names (resolved, in order)."""
    found = [objects]
    for store in found:  # grows while it is walked: breadth first over the whole graph
        for alternate in _alternates_of(store):
            if alternate not in found:
                if len(found) > _MAX_ALTERNATE_STORES:
                    raise GitError(f"{objects} borrows from more than {_MAX_ALTERNATE_STORES} alternate object stores")
                found.append(alternate)
    return tuple(found)


def _alternates_of(store: Path) -> list[Path]:
    """The stores named by `store`'s info/alternates, resolved as git resolves them."""
    where = store / "info" / "alternates"
    try:
        data = _read_small_file(where, _MAX_ALTERNATES_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise GitError(f"cannot read the alternates of {store}: {exc.strerror}") from None
    if data is None:
        raise GitError(f"{where} is not a regular file")
    if len(data) > _MAX_ALTERNATES_BYTES:
        raise GitError(f"{where} is larger than {_MAX_ALTERNATES_BYTES // 1024} KiB; an alternates file "
                       "lists a few paths")
    problem = alternates_problem(data)
    if problem:
        raise GitError(f"{where}: {problem}; git reads each entry literally, so it may lead elsewhere than it "
                       "looks: write each alternate as a plain path")
    base = os.fsencode(store)
    return [Path(os.fsdecode(os.path.realpath(entry if entry.startswith(b"/") else base + b"/" + entry)))
            for entry in alternate_entries(data)]


def _read_small_file(path: Path, limit: int) -> bytes | None:
    """Up to `limit` bytes of a regular file; None for anything else (a FIFO would block the read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class _AlternateEntry:
    path: bytes  # what git uses: unquoted, cut at a NUL like the C string it becomes
    raw: bytes  # the entry's bytes in the file
    line: int
    quoted: bool
    after: bytes  # the byte git skips after the entry (b"" at the end of the file)


def _parse_alternates(data: bytes) -> Iterator[_AlternateEntry]:
    """Split an alternates file exactly as git's parse_alternates (odb.c) does.

    Entries end at "\n" only; no other whitespace is stripped. An entry starting with "#"
    is a comment; one starting with '"' is a C-style quoted path when it unquotes (it may
    then span lines, and git skips the one byte after the closing quote, whatever it is),
    otherwise a plain path. Empty entries are skipped. Git reads the file as a C string,
    so nothing after a NUL byte exists for it.
    """
    data = data.split(b"\0", 1)[0]
    pos = counted = 0
    line = 1
    while pos < len(data):
        start, quoted = pos, False
        line += data.count(b"\n", counted, start)  # counted once over the whole file
        counted = start
        if data[pos] == ord("#"):
            end, path = _line_end(data, pos), b""
        elif data[pos] == ord('"') and (unquoted := _unquote_c_style(data, pos)) is not None:
            (path, end), quoted = unquoted, True
        else:
            end = _line_end(data, pos)
            path = data[pos:end]
        pos = end + 1 if end < len(data) else end
        if path:
            yield _AlternateEntry(path=path.split(b"\0", 1)[0], raw=data[start:end], quoted=quoted,
                                  line=line, after=data[end:end + 1])


def _line_end(data: bytes, pos: int) -> int:
    end = data.find(b"\n", pos)
    return len(data) if end < 0 else end


def _unquote_c_style(data: bytes, start: int) -> tuple[bytes, int] | None:
    """git's unquote_c_style (quote.c): the unquoted bytes and the index after the closing quote,
    or None for broken quoting (git then reads the entry as a plain path)."""
    out = bytearray()
    pos = start + 1
    quote = -1
    while True:
        if quote < pos:  # searched again only once an escaped quote has been passed: linear overall
            quote = data.find(b'"', pos)
            if quote < 0:
                return None  # no closing quote: git's strcspn runs into the end of the string
        stop = data.find(b"\\", pos, quote)
        if stop < 0:
            out += data[pos:quote]
            return bytes(out), quote + 1
        out += data[pos:stop]
        escape = data[stop + 1:stop + 2]
        if escape and escape[0] in _C_ESCAPES:
            out.append(_C_ESCAPES[escape[0]])
            pos = stop + 2
        elif escape and escape in b"0123" and re.fullmatch(rb"[0-7]{2}", data[stop + 2:stop + 4]):
            out.append(int(data[stop + 1:stop + 4], 8))
            pos = stop + 4
        else:
            return None


def alternate_entries(data: bytes) -> list[bytes]:
    """The paths git reads from an alternates file's bytes, as written (relative ones unresolved)."""
    return [entry.path for entry in _parse_alternates(data)]


def alternates_problem(data: bytes) -> str | None:
    """Why an alternates file is not plainly a list of paths, or None when it is.

    Git keeps a trailing space, tab, vertical tab or carriage return as part of the path, so
    a symbolic link named `store ` (with the space) leads git elsewhere than `store`; the
    parse above gets that right, and any entry a reader (or an older git) could take for
    another path is refused on top of it.
    """
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        return f"line {line} holds a NUL byte"
    for entry in _parse_alternates(data):
        problem = _entry_problem(entry)
        if problem:
            return f"line {entry.line}: the entry {os.fsdecode(entry.raw)!r} {problem}"
    return None


def _entry_problem(entry: _AlternateEntry) -> str | None:
    if entry.quoted and b"\n" in entry.raw:
        return "is a quoted path that spans lines"
    if entry.quoted and entry.after not in (b"", b"\n"):
        return "has text after its closing quote"
    if not entry.quoted and entry.raw.startswith(b'"'):
        return "opens a quote that does not close"
    if re.search(rb"[\x00-\x1f\x7f]", entry.path):
        return "holds a control character"
    text = os.fsdecode(entry.path)
    if text != text.lstrip():
        return "starts with whitespace"
    if text != text.rstrip():
        return "ends with whitespace"
    return None


def _link_targets(object_dirs: tuple[Path, ...]) -> tuple[Path, ...]:
    """Where the symbolic links inside the object stores lead (a pack linked in from elsewhere)."""
    targets = []
    for store in object_dirs:
        for folder, subfolders, files in os.walk(store):
            for name in (*subfolders, *files):
                entry = os.path.join(folder, name)
                if os.path.islink(entry):
                    targets.append(Path(os.path.realpath(entry)))
    return tuple(targets)


def repository_root(path: Path | str) -> Path:
    """The top folder of the repository at `path`; `path` itself must be that top."""
    return locate(path).top


def is_valid_ref_name(name: str) -> bool:
    return bool(_REF_RE.match(name))


def resolve_revision(path: Path | str, revision: str = "") -> str:
    """The full sha of the commit that `revision` (a branch name, or empty for HEAD) points to."""
    if revision and not is_valid_ref_name(revision):
        raise GitError(f"{revision!r} is not a valid branch name")
    done = _run(path, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision or 'HEAD'}^{{commit}}")
    sha = done.stdout.decode("ascii", "replace").strip()
    if done.returncode != 0 or not _SHA_RE.match(sha):
        if revision:
            raise GitError(f"branch {revision!r} does not exist in {path}")
        raise GitError(f"{path} has no commits yet")
    return sha


def is_ancestor(path: Path | str, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is reachable from `descendant` (False if it no longer exists)."""
    if not (_SHA_RE.match(ancestor) and _SHA_RE.match(descendant)):
        return False
    return _run(path, "merge-base", "--is-ancestor", ancestor, descendant).returncode == 0


def _range_args(head: str, since: str) -> list[str]:
    for sha in (head, since):
        if sha and not _SHA_RE.match(sha):
            raise GitError(f"{sha!r} is not a full commit sha")
    return [f"{since}..{head}"] if since else [head]


def count_commits(path: Path | str, head: str, since: str = "", *, merges: bool = False) -> int:
    """How many non-merge (or, with merges=True, merge) commits the range holds."""
    flag = "--merges" if merges else "--no-merges"
    done = _run(path, "rev-list", "--count", flag, *_range_args(head, since), "--")
    if done.returncode != 0:
        raise GitError(f"git could not count the commits of {path}: {_failure(done)}")
    return int(done.stdout.strip() or 0)


def iter_commits(path: Path | str, head: str, since: str = "") -> Iterator[RawCommit]:
    """Stream the non-merge commits of `since..head` (newest first) with their patches."""
    args = ["git", "--no-pager", "log", "--no-merges", "--no-color", "--no-ext-diff", "--no-textconv",
            "--no-show-signature", "--no-notes", "--submodule=short", "--find-renames", "-p",
            f"--format={_FORMAT}", *_range_args(head, since), "--"]
    env = _environment(path)
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(args, cwd=path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=errors)
        finished = False
        try:
            for record in _records(process.stdout):
                yield _parse_commit(record)
            finished = True
        finally:
            process.stdout.close()
            status = process.wait()
        if finished and status != 0:
            errors.seek(0)
            failed = subprocess.CompletedProcess(args, status, b"", errors.read())
            raise GitError(f"git could not read the history of {path}: {_failure(failed)}")


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


def clone_bundle(bundle: Path | str, target: Path | str, branch: str = "main") -> Path:
    """A working copy of `branch` from a git bundle file, in `target` (a folder that must not exist yet).

    Unbundled into a fresh repository rather than cloned: a clone would need the file transport,
    which the hardened environment allows none of.
    """
    target, bundle = Path(target), Path(bundle).resolve()
    if target.exists():
        raise GitError(f"{target} already exists")
    target.mkdir(parents=True)
    env = safe_environment()
    steps = [("init", "--quiet", f"--initial-branch={branch}"), ("bundle", "unbundle", str(bundle))]
    for args in steps:
        done = _run(target, *args, env=env)
        if done.returncode:
            raise GitError(f"cannot unpack {bundle.name}: {_failure(done)}")
    heads = dict(reversed(line.split(" ", 1)) for line in done.stdout.decode().splitlines() if " " in line)
    sha = heads.get(f"refs/heads/{branch}")
    if not sha:
        raise GitError(f"{bundle.name} has no branch {branch}")
    for args in (("update-ref", f"refs/heads/{branch}", sha), ("reset", "--quiet", "--hard", branch)):
        done = _run(target, *args, env=env)
        if done.returncode:
            raise GitError(f"cannot check out {branch} from {bundle.name}: {_failure(done)}")
    return target
