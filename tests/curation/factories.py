"""Plain factories for curation records."""

import hashlib
import itertools

from django.utils import timezone

from curation.models import CommitExample, Conversation, GitRepository, Lesson, ReviewStatus

_seq = itertools.count(1)


def _key(*parts) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def make_lesson(situation=None, action=None, *, result="SUKCES: done", status=ReviewStatus.APPROVED, **extra):
    n = next(_seq)
    situation = situation or f"Situation number {n}: the build failed because the cache was stale."
    action = action or f"Action number {n}: clear the cache directory and rebuild the project."
    extra.setdefault("content_key", _key("lesson", situation, action, result, n))
    extra.setdefault("occurred_at", timezone.now())
    return Lesson.objects.create(situation=situation, action=action, result=result, review_status=status, **extra)


def make_conversation(messages=None, *, status=ReviewStatus.APPROVED, **extra):
    n = next(_seq)
    messages = messages or [
        {"role": "user", "content": f"Task {n}: rename the helper function and update its callers."},
        {"role": "assistant", "content": f"Renamed it in {n} files and ran the tests; all pass."},
    ]
    extra.setdefault("content_key", _key("conversation", messages, n))
    return Conversation.objects.create(messages=messages, review_status=status, **extra)


def make_repository(path="/tmp/repo", **extra):
    return GitRepository.objects.create(name=extra.pop("name", "repo"), path=path, **extra)


def make_commit_example(repository=None, *, message=None, diff=None, status=ReviewStatus.APPROVED, **extra):
    n = next(_seq)
    repository = repository or make_repository(path=f"/tmp/repo-{n}")
    message = message or f"feat: add option number {n} to the exporter"
    diff = diff or (f"diff --git a/x{n}.py b/x{n}.py\n--- a/x{n}.py\n+++ b/x{n}.py\n"
                    f"@@ -1 +1 @@\n-a = {n}\n+a = {n + 1}\n")
    extra.setdefault("content_key", _key("commit", repository.pk, n))
    extra.setdefault("commit_sha", hashlib.sha1(str(n).encode()).hexdigest())
    return CommitExample.objects.create(repository=repository, message=message, diff=diff, review_status=status,
                                        **extra)
