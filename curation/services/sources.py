"""Stage 1 of a dataset build: read the approved records of the chosen sources as `Example`s.

The mapping from record to example is curation.pipeline.sources'. Exclusions: a higher app
(the Arena's frozen holdouts) appends a callable to `EXCLUSION_HOOKS` that returns content keys
no dataset may contain; `collect` leaves those records out of every build, whatever the chosen
sources.
"""

from collections.abc import Callable

from curation.models import CommitExample, Conversation, Lesson
from curation.pipeline.example import Example
from curation.pipeline.sources import COMMIT_INSTRUCTION, SOURCES, well_formed_turns

_CHUNK = 2000

# Each hook returns a set of content keys to leave out of every dataset build.
EXCLUSION_HOOKS: list[Callable[[], set[str]]] = []


def excluded_content_keys() -> set[str]:
    """Content keys that no dataset may contain (the union of every exclusion hook)."""
    keys: set[str] = set()
    for hook in list(EXCLUSION_HOOKS):
        keys |= set(hook())
    return keys


def _lessons(excluded):
    rows = Lesson.objects.approved().exclude(content_key__in=excluded).order_by("id").values_list(
        "id", "lesson_id", "occurred_at", "situation", "action", "result")
    for pk, lesson_id, occurred_at, situation, action, result in rows.iterator(chunk_size=_CHUNK):
        yield Example(kind="lesson", id=pk, ref=lesson_id or str(pk), occurred_at=occurred_at.timestamp(),
                      instruction=situation, output=action, outcome=result)


def _commits(excluded):
    rows = CommitExample.objects.approved().exclude(content_key__in=excluded).order_by("id").values_list(
        "id", "commit_sha", "occurred_at", "diff", "message")
    for pk, sha, occurred_at, diff, message in rows.iterator(chunk_size=_CHUNK):
        yield Example(kind="commit", id=pk, ref=sha, occurred_at=occurred_at.timestamp(),
                      instruction=COMMIT_INSTRUCTION, input=diff, output=message)


def _conversations(excluded):
    rows = Conversation.objects.approved().exclude(content_key__in=excluded).order_by("id").values_list(
        "id", "task_id", "occurred_at", "messages", "succeeded")
    for pk, task_id, occurred_at, messages, succeeded in rows.iterator(chunk_size=_CHUNK):
        turns = well_formed_turns(messages) or [{"role": "user", "content": ""}]
        yield Example(kind="conversation", id=pk, ref=task_id or str(pk), occurred_at=occurred_at.timestamp(),
                      turns=turns, outcome="" if succeeded else "failed")


# source name -> reader(excluded content keys) yielding that source's approved examples
READERS = dict(zip(SOURCES, (_lessons, _commits, _conversations), strict=True))


def collect(sources: list[str]) -> list[Example]:
    """All approved examples of `sources`, in a stable order (source, then id)."""
    examples: list[Example] = []
    excluded = sorted(excluded_content_keys())
    for name in sources:
        examples.extend(READERS[name](excluded))
    return examples
