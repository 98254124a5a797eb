"""Git sources: register a repository under an allowed root and mine it into commit examples."""

import hashlib
import logging
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from curation import git_rules, gitrepo
from curation.models import CommitExample, GitRepository, MiningJob, ReviewStatus
from curation.secrets import scrub_text
from curation.secrets.policy import action_for
from curation.secrets.records import Findings
from curation.services.ingest import check_ingest
from curation.services.review import initial_review_status
from jobs import lifecycle
from jobs.models import JobStatus
from jobs.runner import JobCancelled, JobFailed, JobRunner, Progress

logger = logging.getLogger(__name__)

_PROGRESS_EVERY_S = 0.5


def mining_rules() -> git_rules.MiningRules:
    return git_rules.MiningRules(
        max_diff_chars=settings.GIT_MAX_DIFF_CHARS,
        min_message_chars=settings.GIT_MIN_MESSAGE_CHARS,
        trivial_messages=frozenset(word.lower() for word in settings.GIT_TRIVIAL_MESSAGES),
        bot_authors=tuple(word.lower() for word in settings.GIT_BOT_AUTHORS),
        generated_markers=tuple(word.lower() for word in settings.GIT_GENERATED_MARKERS),
    )


def check_repository_path(path: str) -> Path:
    """The resolved top folder of the repository at `path`, or ValidationError saying why not."""
    if not path or not str(path).strip():
        raise ValidationError({"path": "a repository path is required"})
    # realpath resolves symlinks and "..", so a link cannot smuggle a path out of the roots.
    resolved = Path(os.path.realpath(os.path.expanduser(str(path).strip())))
    roots = [Path(os.path.realpath(root)) for root in settings.GIT_ALLOWED_ROOTS]
    if not _inside(resolved, roots):
        allowed = ", ".join(str(root) for root in roots) or "(none configured)"
        raise ValidationError({"path": f"{resolved} is outside the allowed roots ({allowed}); "
                                       "set GIT_ALLOWED_ROOTS to allow it"})
    try:
        dirs = gitrepo.locate(resolved)
    except gitrepo.GitError as exc:
        raise ValidationError({"path": str(exc)}) from None
    # The working tree is only where git starts: a `.git` file or symlink, a worktree's
    # common dir, alternates or linked packs can make it read history from anywhere.
    for label, where in dirs.labelled_paths():
        if not _inside(where, roots):
            raise ValidationError({"path": f"{resolved}: its {label} {where} is outside the allowed roots"})
    return dirs.top


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def register_repository(path: str, *, user=None, name: str = "", branch: str = "") -> GitRepository:
    """Validate the path (allowed root, real repository) and the branch, then record it."""
    check_ingest(user)
    top = check_repository_path(path)
    branch = (branch or "").strip()
    try:
        gitrepo.resolve_revision(top, branch)
    except gitrepo.GitError as exc:
        raise ValidationError({"branch" if branch else "path": str(exc)}) from None
    if GitRepository.objects.filter(path=str(top)).exists():
        raise ValidationError({"path": f"{top} is already registered"})
    # The name is shown on every page and in the API: a token pasted into it must not be stored.
    name = scrub_text((name or "").strip() or top.name)[0][:200]
    return GitRepository.objects.create(name=name, path=str(top), branch=branch, created_by=user)


def find_repository(path: str) -> GitRepository | None:
    """The registered repository at `path` (after resolving it), if any."""
    resolved = os.path.realpath(os.path.expanduser(str(path).strip()))
    return GitRepository.objects.filter(path=resolved).first()


def request_mining(repository: GitRepository, *, user=None, queue: bool = True) -> MiningJob:
    """Check `user` may ingest experience (None: the system itself, e.g. a command), record a queued
    mining of the repository and (after commit) hand it to a worker.

    ValidationError when one is already queued or running (the database allows one active
    mining per repository).
    """
    check_ingest(user)
    try:
        with transaction.atomic():
            mining = MiningJob.objects.create(repository=repository,
                                              created_by=user if user and user.is_authenticated else None)
            if queue:
                lifecycle.enqueue(mining)
    except IntegrityError:
        raise ValidationError(f"{repository.name} is already being mined") from None
    return mining


def run_mining(mining_id: int, worker: str = "") -> dict | None:
    """Claim the mining, mine its repository and record the outcome. None when it was not ours to run.

    The claim is a conditional update, so a repeated task or a second worker does nothing.
    Failures are stored as a readable error on the mining; one that is not git's or the data's
    fault is a crash, logged with its traceback (jobs.runner).
    """
    mining = MiningRunner(mining_id, worker).handle()
    return mining.stats if mining is not None and mining.status == JobStatus.SUCCEEDED else None


class MiningRunner(JobRunner):
    """git's and the data's failures are the mining's own (in plain words); anything else is a crash."""

    model = MiningJob
    progress_every = _PROGRESS_EVERY_S

    def run(self, mining: MiningJob, progress) -> dict:
        try:
            return {"stats": mine_repository(mining, progress)}
        except (gitrepo.GitError, ValidationError, OSError) as exc:
            raise JobFailed(_message(exc)) from exc

    def crash_message(self, exc: Exception) -> str:
        return "the mining failed on an internal error; see the error details"


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or exc.__class__.__name__


def mine_repository(mining: MiningJob, progress: Progress | None = None) -> dict:
    """Mine the commits added since the last mining into CommitExample rows; return the stats.

    Only new commits are read (last_mined_sha..head). When history was rewritten and the
    last mined commit is no longer an ancestor, the whole branch is read again; commits
    already stored are recognised by sha and left alone. `progress` (by default the mining's own)
    raises JobCancelled when the mining is cancelled.
    """
    progress = progress or Progress(MiningJob, mining.pk, every=_PROGRESS_EVERY_S)
    repository = mining.repository
    path = check_repository_path(repository.path)
    head = gitrepo.resolve_revision(path, repository.branch)
    since = repository.last_mined_sha
    rewritten = bool(since) and since != head and not gitrepo.is_ancestor(path, since, head)
    if rewritten:
        since = ""
    stats = _new_stats(head, since, rewritten)
    if since != head:
        stats["skipped"]["merge"] = gitrepo.count_commits(path, head, since, merges=True)
        total = gitrepo.count_commits(path, head, since)
        progress(0.0, progress_done=0, progress_total=total)
        _mine_range(mining, path, head, since, stats, total, progress)
    stats = {key: dict(value) if isinstance(value, Counter) else value for key, value in stats.items()}
    stats["finished_at"] = timezone.now().isoformat()
    GitRepository.objects.filter(pk=repository.pk).update(last_mined_sha=head, last_mined_at=timezone.now())
    return stats


def _new_stats(head: str, since: str, rewritten: bool) -> dict:
    return {"head": head, "since": since, "history_rewritten": rewritten, "commits_seen": 0, "kept": 0,
            "truncated": 0, "skipped": Counter(), "files_skipped": Counter(), "types": Counter()}


def _mine_range(mining: MiningJob, path: Path, head: str, since: str, stats: dict, total: int,
                progress: Progress) -> None:
    repository = mining.repository
    rules = mining_rules()
    known = set(repository.examples.values_list("commit_sha", flat=True))
    status = initial_review_status("git")
    batch: list[CommitExample] = []
    for raw in gitrepo.iter_commits(path, head, since):
        stats["commits_seen"] += 1
        if raw.sha in known:
            stats["skipped"]["already_mined"] += 1
        else:
            example = build_example(repository, raw, rules, stats, status)
            if example is not None:
                batch.append(example)
        if len(batch) >= settings.GIT_MINING_BATCH_SIZE:
            _save(batch)
        try:
            _report(progress, stats["commits_seen"], total)
        except JobCancelled:
            _save(batch)  # the commits read before the cancel are kept
            raise
    _save(batch)
    _report(progress, stats["commits_seen"], total)


def _report(progress: Progress, done: int, total: int) -> None:
    """Progress of the mining (throttled; also its heartbeat and cancel check), broadcast to its page."""
    progress(min(1.0, done / total) if total else 1.0, progress_done=done, progress_total=total,
             label=f"{done} / {total} commits")


def _save(batch: list[CommitExample]) -> None:
    if batch:
        # ignore_conflicts: a concurrent or repeated mining may have stored the same commit.
        CommitExample.objects.bulk_create(batch, ignore_conflicts=True)
        batch.clear()


def build_example(repository, raw, rules, stats, status) -> CommitExample | None:
    """An unsaved CommitExample for the commit, or None (the skip reason counted in stats)."""
    blocks, reason = git_rules.select_diff(raw, rules, stats["files_skipped"])
    if reason:
        stats["skipped"][reason] += 1
        return None
    diff, truncated = git_rules.cap_diff(blocks, rules.max_diff_chars)
    kind = git_rules.conventional_type(raw.message)
    # Secrets are redacted before the example is stored (policy per kind in settings.SECRET_POLICY).
    found = Findings()
    message, diff = found.text("message", raw.message), found.text("diff", diff)
    action = action_for(found.counts)
    if action == "drop":
        stats["skipped"]["secret"] += 1
        return None
    if action == "quarantine":
        status = ReviewStatus.PENDING
    stats["kept"] += 1
    stats["truncated"] += int(truncated)
    stats["types"][kind or "none"] += 1
    approved = status == ReviewStatus.APPROVED
    # Author e-mails are personal data: used above for bot detection, never stored.
    return CommitExample(
        repository=repository, commit_sha=raw.sha, author_name=raw.author_name[:200], message=message,
        diff=diff, files_changed=len(raw.files), diff_truncated=truncated, commit_type=kind,
        tags=[kind] if kind else [], content_key=content_key(repository.path, raw.sha),
        occurred_at=datetime.fromtimestamp(raw.authored_at, tz=UTC), review_status=status,
        reviewed_at=timezone.now() if approved else None,
        metadata={"files_kept": len(blocks), "parents": raw.parents},
        secret_findings=found.as_json(quarantined=True) if action == "quarantine" else found.as_json(),
    )


def content_key(repository_path: str, sha: str) -> str:
    return hashlib.sha256(f"{repository_path}\x1f{sha}".encode()).hexdigest()

