"""Frozen holdouts: approved records set aside once per line and never trained on.

Taking a holdout copies each chosen record's prompt and answer (secrets redacted as in a
dataset build) so later edits of the record cannot change what versions are judged on.
Only records that no dataset snapshot of the line's versions contains are eligible, and
every held-out content key is excluded from every later dataset build through curation's
exclusion hook (`held_out_content_keys`). Dataset builds are not tied to a line, so a
record held out by any line stays out of every build: stricter than needed, never leaky.
"""

import json
import random

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from arena.models import Holdout, HoldoutItem
from curation.models import CommitExample, Conversation, Lesson
from curation.pipeline import secrets
from curation.pipeline.sources import collect
from models_registry.adapters import AdapterError, data_path

RECORD_MODELS = {"lesson": Lesson, "commit": CommitExample, "conversation": Conversation}
ALL_SOURCES = ["lessons", "commits", "conversations"]


class HoldoutError(ValueError):
    """A holdout cannot be taken; str() says why."""


def held_out_content_keys() -> set[str]:
    """Every content key in any holdout of any line (curation's exclusion hook)."""
    return set(HoldoutItem.objects.values_list("content_key", flat=True).distinct())


def trained_sources(line) -> set[tuple[str, int]]:
    """(kind, id) of every row in the dataset snapshots of the line's versions."""
    refs: set[tuple[str, int]] = set()
    for snapshot in {v.dataset for v in line.versions.select_related("dataset") if v.dataset_id}:
        refs |= snapshot_sources(snapshot)
    return refs


def snapshot_sources(snapshot) -> set[tuple[str, int]]:
    """(kind, id) of each row of a snapshot, from the source reference every row carries."""
    refs = set()
    try:
        with data_path(snapshot.path).open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    source = json.loads(line).get("source") or {}
                    if source.get("id") is not None:
                        refs.add((str(source.get("kind")), int(source["id"])))
    except (OSError, AdapterError, ValueError) as exc:
        raise HoldoutError(f"cannot read dataset snapshot {snapshot}: {exc}") from exc
    return refs


def freeze_holdout(line, *, size: int | None = None, seed: int = 0, user=None) -> Holdout:
    """Take a new holdout version for `line`: `size` approved records no version was trained on."""
    size = settings.ARENA_HOLDOUT_SIZE if size is None else size
    if size < 1:
        raise HoldoutError("a holdout needs at least one record")
    trained = trained_sources(line)
    candidates = [e for e in collect(ALL_SOURCES) if (e.kind, e.id) not in trained and _answerable(e)]
    if not candidates:
        raise HoldoutError(f"line {line.name} has no approved record that no version was trained on")
    chosen = random.Random(seed).sample(candidates, min(size, len(candidates)))
    chosen.sort(key=lambda e: (e.kind, e.id))
    keys = _content_keys(chosen)
    with transaction.atomic():
        type(line).objects.select_for_update().filter(pk=line.pk).first()
        version = (line.holdouts.aggregate(n=Max("version"))["n"] or 0) + 1
        holdout = Holdout.objects.create(line=line, version=version, seed=seed, created_by=user)
        HoldoutItem.objects.bulk_create(_item(holdout, example, keys[(example.kind, example.id)])
                                        for example in chosen)
    return holdout


def latest_holdout(line) -> Holdout | None:
    return line.holdouts.order_by("-version").first()


def _answerable(example) -> bool:
    turns = example.chat_turns()
    return len(turns) >= 2 and turns[-1]["role"] == "assistant" and bool(turns[-1]["content"].strip()) and any(
        t["role"] == "user" for t in turns[:-1])


def _content_keys(examples) -> dict[tuple[str, int], str]:
    keys = {}
    for kind, model in RECORD_MODELS.items():
        ids = [e.id for e in examples if e.kind == kind]
        keys |= {(kind, pk): key for pk, key in model.objects.filter(id__in=ids).values_list("id", "content_key")}
    return keys


def _item(holdout, example, content_key) -> HoldoutItem:
    secrets.scrub_example(example)
    turns = example.chat_turns()
    return HoldoutItem(holdout=holdout, source_kind=example.kind, source_id=example.id, content_key=content_key,
                       messages=turns[:-1], answer=turns[-1]["content"])
