"""A repository's own config must never make the server run a program while it is mined.

Each test writes a real repository whose `.git/config` (and, where the key needs it,
`.gitattributes` or a missing object) points one program-running key at a script that
leaves a marker file, then registers and mines it through the service with the real git.
"""

import os
import stat

import pytest

from curation.models import CommitExample, MiningJob
from curation.services.git_mining import register_repository, request_mining, run_mining
from tests.curation.git_helpers import commit, git, init_repo

pytestmark = pytest.mark.django_db

HOOKS = ("pre-commit", "post-commit", "post-checkout", "post-merge", "post-rewrite", "reference-transaction",
         "pre-auto-gc", "post-index-change", "fsmonitor-watchman")


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "ran"


@pytest.fixture
def program(tmp_path, marker):
    """A script that records that it ran (and then exits, so a git that waits on it never hangs)."""
    script = tmp_path / "pwn.sh"
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> "{marker}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.fixture
def repo(root):
    path = init_repo(root / "project")
    commit(path, "feat: add the greeting module", {"app/greet.py": "def greet():\n    return 'hi'\n"})
    return path


def mine_through_the_service(path) -> MiningJob:
    mining = request_mining(register_repository(str(path)), queue=False)
    run_mining(mining.pk)
    return MiningJob.objects.select_related("repository").get(pk=mining.pk)


def assert_mined_and_nothing_ran(path, marker, kept=2):
    mining = mine_through_the_service(path)
    assert not marker.exists(), marker.read_text()
    assert mining.status == "succeeded", mining.error
    assert CommitExample.objects.filter(repository=mining.repository).count() == kept


def signed_commit(path, message):
    """A commit carrying a gpgsig header, written as a raw object (no key needed to make one)."""
    commit(path, "unsigned draft", {"app/signed.py": "SIGNED = True\n"})
    tree = git(path, "rev-parse", "HEAD^{tree}")
    parent = git(path, "rev-parse", "HEAD~1")
    body = (f"tree {tree}\nparent {parent}\nauthor Ann <ann@example.com> 1700000000 +0000\n"
            "committer Ann <ann@example.com> 1700000000 +0000\n"
            "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----\n"
            f"\n{message}\n")
    sha = _hash_object(path, body)
    git(path, "update-ref", "HEAD", sha)
    return sha


def _hash_object(path, body):
    import subprocess

    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "-C", str(path), "hash-object", "-w", "-t", "commit", "--stdin"], input=body,
                          env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_a_signed_commit_with_a_hostile_gpg_program_runs_nothing(repo, program, marker):
    sha = signed_commit(repo, "feat: a signed change to the greeting")
    for key in ("gpg.program", "gpg.openpgp.program", "gpg.x509.program", "gpg.ssh.program"):
        git(repo, "config", key, program)
    git(repo, "config", "log.showSignature", "true")
    assert_mined_and_nothing_ran(repo, marker)
    assert CommitExample.objects.filter(commit_sha=sha).exists()


def test_a_hostile_fsmonitor_runs_nothing(repo, program, marker):
    git(repo, "config", "core.fsmonitor", program)
    commit(repo, "docs: describe the greeting module", {"README.md": "Greets.\n"})
    marker.unlink(missing_ok=True)  # the helper's own `git add` may legitimately have run it
    assert_mined_and_nothing_ran(repo, marker)


def test_a_textconv_driver_named_in_gitattributes_runs_nothing(repo, program, marker):
    git(repo, "config", "diff.pwn.textconv", program)
    git(repo, "config", "diff.pwn.cachetextconv", "false")
    commit(repo, "docs: add notes with a diff driver", {".gitattributes": "*.txt diff=pwn\n", "notes.txt": "n\n"})
    assert_mined_and_nothing_ran(repo, marker)


def test_a_diff_command_driver_and_diff_external_run_nothing(repo, program, marker):
    git(repo, "config", "diff.external", program)
    git(repo, "config", "diff.pwn.command", program)
    commit(repo, "docs: add notes with a diff driver", {".gitattributes": "*.txt diff=pwn\n", "notes.txt": "n\n"})
    assert_mined_and_nothing_ran(repo, marker)


def test_a_hostile_pager_runs_nothing(repo, program, marker):
    for key in ("core.pager", "pager.log", "pager.rev-list", "pager.rev-parse", "pager.config"):
        git(repo, "config", key, program)
    assert_mined_and_nothing_ran(repo, marker, kept=1)


def test_a_filter_named_in_gitattributes_runs_nothing(repo, program, marker):
    commit(repo, "docs: add notes under a filter", {".gitattributes": "*.txt filter=pwn\n", "notes.txt": "n\n"})
    for key in ("filter.pwn.clean", "filter.pwn.smudge", "filter.pwn.process"):
        git(repo, "config", key, program)
    git(repo, "config", "filter.pwn.required", "true")
    assert_mined_and_nothing_ran(repo, marker)


def test_hooks_in_the_repository_run_nothing(repo, program, marker):
    hooks = repo / ".git" / "hooks"
    for name in HOOKS:
        (hooks / name).symlink_to(program)
    outside_hooks = repo.parent.parent / "hooks"
    outside_hooks.mkdir()
    for name in HOOKS:
        (outside_hooks / name).symlink_to(program)
    git(repo, "config", "core.hooksPath", str(outside_hooks))
    assert_mined_and_nothing_ran(repo, marker, kept=1)


@pytest.mark.parametrize("transport", ["ssh", "file"])
def test_a_partial_clone_never_fetches_a_missing_object_through_a_hostile_transport(repo, program, marker,
                                                                                    transport):
    """A promisor remote makes `git log -p` fetch missing blobs: ssh runs core.sshCommand,
    a local remote runs remote.<name>.uploadpack. Mining fails instead; nothing runs."""
    git(repo, "config", "core.repositoryformatversion", "1")
    git(repo, "config", "extensions.partialClone", "origin")
    git(repo, "config", "remote.origin.promisor", "true")
    git(repo, "config", "remote.origin.url", "ssh://git.example.invalid/x" if transport == "ssh"
        else f"file://{repo.parent}/project")
    git(repo, "config", "core.sshCommand", program)
    git(repo, "config", "remote.origin.uploadpack", program)
    tree = _missing_blob_tree(repo)
    sha = git(repo, "commit-tree", tree, "-p", "HEAD", "-m", "feat: add a file whose blob is missing")
    git(repo, "update-ref", "HEAD", sha)
    mining = mine_through_the_service(repo)
    assert not marker.exists(), marker.read_text()
    assert mining.status == "failed" and "could not read the history" in mining.error


def _missing_blob_tree(path):
    import subprocess

    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_NO_LAZY_FETCH": "1"}
    listing = "100644 blob 1111111111111111111111111111111111111111\tmissing.txt\n"
    return subprocess.run(["git", "-C", str(path), "mktree", "--missing"], input=listing, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_the_servers_own_environment_and_user_config_are_ignored(repo, program, marker, monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[core]\n\tpager = {program}\n[log]\n\tshowSignature = true\n"
                                     f"[gpg]\n\tprogram = {program}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", program)
    monkeypatch.setenv("GIT_PAGER", program)
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", f"'diff.external'='{program}'")
    signed_commit(repo, "feat: a signed change to the greeting")
    assert_mined_and_nothing_ran(repo, marker)


def test_every_repository_named_program_key_is_overridden(repo, program):
    from curation import gitrepo

    keys = ["diff.pwn.textconv", "diff.pwn.command", "filter.pwn.clean", "filter.pwn.smudge", "filter.pwn.process",
            "merge.pwn.driver", "gpg.ssh.program", "credential.https://example.org.helper", "remote.origin.uploadpack",
            "remote.origin.receivepack", "trailer.pwn.command", "difftool.pwn.cmd", "mergetool.pwn.cmd", "pager.log"]
    for key in keys:
        git(repo, "config", key, program)
    env = gitrepo._environment(repo)
    overridden = {env[f"GIT_CONFIG_KEY_{n}"].lower(): env[f"GIT_CONFIG_VALUE_{n}"]
                  for n in range(int(env["GIT_CONFIG_COUNT"]))}
    assert {key.lower() for key in keys} <= set(overridden)
    assert program not in overridden.values()
