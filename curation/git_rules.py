"""Which commits and files make good (diff -> message) examples, and how diffs are capped.

Plain functions over plain values (no Django, no git), so the benchmark can apply exactly
the same rules to another miner's output.
"""

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath

CONVENTIONAL_TYPES = ("feat", "fix", "docs", "refactor", "perf", "test", "build", "ci", "chore", "style", "revert")
_CONVENTIONAL_RE = re.compile(r"^(?P<type>[a-z]+)(?:\([^)\n]*\))?(?P<breaking>!)?:\s*", re.IGNORECASE)

LOCK_FILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "poetry.lock",
    "pipfile.lock", "uv.lock", "pdm.lock", "cargo.lock", "go.sum", "composer.lock", "gemfile.lock",
    "podfile.lock", "pubspec.lock", "mix.lock", "flake.lock", "packages.lock.json", "gradle.lockfile",
    "conda-lock.yml",
})
VENDOR_DIRS = frozenset({"vendor", "vendors", "third_party", "third-party", "thirdparty", "node_modules",
                         "bower_components", "site-packages", ".venv", "venv"})
GENERATED_DIRS = frozenset({"dist", "build", "__generated__", "generated"})
GENERATED_SUFFIXES = (".min.js", ".min.css", ".map", "_pb2.py", "_pb2_grpc.py", "_pb2.pyi", ".pb.go",
                      ".pb.cc", ".pb.h", ".generated.cs", ".g.dart")
# Marker search looks only at the start of a file's patch, where such banners live.
_MARKER_WINDOW = 2000


@dataclass(frozen=True)
class MiningRules:
    """Thresholds and word lists, normally read from settings (GIT_*)."""

    max_diff_chars: int = 16_000
    min_message_chars: int = 10
    trivial_messages: frozenset = frozenset({"wip", "fix", "update", "typo"})
    bot_authors: tuple = ("[bot]", "dependabot", "renovate", "github-actions")
    generated_markers: tuple = ("@generated", "do not edit")


def conventional_type(message: str) -> str:
    """The Conventional Commit type of the subject line ('' when it has none we know)."""
    match = _CONVENTIONAL_RE.match(message)
    if not match:
        return ""
    kind = match.group("type").lower()
    return kind if kind in CONVENTIONAL_TYPES else ""


def is_bot(name: str, email: str, rules: MiningRules) -> bool:
    who = f"{name}\n{email}".lower()
    return any(marker in who for marker in rules.bot_authors)


def message_skip_reason(message: str, rules: MiningRules) -> str:
    """'trivial_message' for messages too short or saying nothing, else ''."""
    text = message.strip()
    if len(text) < rules.min_message_chars:
        return "trivial_message"
    subject = text.splitlines()[0]
    if subject.lower().startswith(("fixup!", "squash!", "amend!")):
        return "trivial_message"
    words = {_normalise(text), _normalise(_CONVENTIONAL_RE.sub("", subject, count=1))}
    if words & rules.trivial_messages:
        return "trivial_message"
    return ""


def _normalise(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!:;-")


def path_skip_reason(path: str) -> str:
    """Why a file is not training material judged by its path alone ('' to keep it)."""
    posix = PurePosixPath(path)
    name = posix.name.lower()
    if name in LOCK_FILES or name.endswith((".lock", "-lock.json", "-lock.yaml")):
        return "lock_file"
    folders = {part.lower() for part in posix.parts[:-1]}
    if folders & VENDOR_DIRS:
        return "vendored"
    if folders & GENERATED_DIRS or name.endswith(GENERATED_SUFFIXES):
        return "generated"
    return ""


def file_skip_reason(path: str, binary: bool, text: str, rules: MiningRules) -> str:
    """Why a file's patch is left out ('' to keep it): binary, lock, vendored or generated."""
    if binary:
        return "binary"
    reason = path_skip_reason(path)
    if reason:
        return reason
    head = text[:_MARKER_WINDOW].lower()
    if any(marker in head for marker in rules.generated_markers):
        return "generated"
    return ""


def select_diff(commit, rules: MiningRules, counts: Counter | None = None) -> tuple[list[str], str]:
    """(kept file patches, skip reason or '') for a commit (anything shaped like gitrepo.RawCommit)."""
    if is_bot(commit.author_name, commit.author_email, rules):
        return [], "bot_author"
    reason = message_skip_reason(commit.message, rules)
    if reason:
        return [], reason
    blocks = []
    for file in commit.files:
        why = file_skip_reason(file.path, file.binary, file.text, rules)
        if why:
            if counts is not None:
                counts[why] += 1
        else:
            blocks.append(file.text)
    return blocks, ("" if blocks else "no_kept_files")


def split_hunks(block: str) -> tuple[str, list[str]]:
    """A file patch as (header, [hunk, ...]); each hunk starts at its '@@' line."""
    starts = [0] if block.startswith("@@ ") else []
    position = block.find("\n@@ ")
    while position >= 0:
        starts.append(position + 1)
        position = block.find("\n@@ ", position + 1)
    if not starts:
        return block, []
    hunks = [block[start:end] for start, end in zip(starts, starts[1:] + [len(block)], strict=True)]
    return block[: starts[0]], hunks


def cap_diff(blocks: list[str], max_chars: int) -> tuple[str, bool]:
    """Join file patches, cutting at a file or hunk boundary to stay within max_chars.

    Every block ends with a newline, so whole files and whole hunks end on whole lines.
    Only when not even the first hunk fits is that hunk cut, and then between lines.
    """
    kept: list[str] = []
    used = 0
    for block in blocks:
        if used + len(block) <= max_chars:
            kept.append(block)
            used += len(block)
            continue
        partial = _partial_block(block, max_chars - used, first=not kept)
        if partial:
            kept.append(partial)
        return "".join(kept), True
    return "".join(kept), False


def _partial_block(block: str, room: int, *, first: bool) -> str:
    header, hunks = split_hunks(block)
    if len(header) > room:
        return _whole_lines(block, room) if first else ""
    part, left = header, room - len(header)
    for hunk in hunks:
        if len(hunk) > left:
            break
        part, left = part + hunk, left - len(hunk)
    if part == header:
        # A lone header says little; keep it only as the start of the very first file.
        return header + _whole_lines(hunks[0], left) if first and hunks else ""
    return part


def _whole_lines(text: str, room: int) -> str:
    if len(text) <= room:
        return text
    cut = text.rfind("\n", 0, room)
    return text[: cut + 1] if cut >= 0 else ""
