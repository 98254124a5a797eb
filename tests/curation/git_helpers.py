"""Build small real git repositories for the git mining tests."""

import os
import subprocess
from pathlib import Path

AUTHOR = "Ann Author <ann@example.com>"


def git(repo: Path, *args: str, author: str = AUTHOR, date: str | None = None) -> str:
    name, _, email = author.partition(" <")
    env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">"),
           "GIT_COMMITTER_NAME": "Committer", "GIT_COMMITTER_EMAIL": "committer@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


def commit(repo: Path, message: str, files: dict, *, author: str = AUTHOR) -> str:
    """Write (str or bytes) or delete (None) files, commit them all, return the new sha."""
    for name, content in files.items():
        target = repo / name
        if content is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message, author=author)
    return git(repo, "rev-parse", "HEAD")


def lines(prefix: str, count: int) -> str:
    return "".join(f"{prefix} line {i}\n" for i in range(count))


def greeting_repo(path: Path, file: str = "greet.py") -> Path:
    """A repository at `path` whose one commit, "feat: add the greeting module", adds greet() in `file`."""
    init_repo(path)
    commit(path, "feat: add the greeting module", {file: "def greet():\n    return 'hi'\n"})
    return path
