"""Frozen holdouts: approved records set aside once per line and never trained on.

Taking a holdout copies each chosen record's prompt and answer (secrets redacted as in a
dataset build) so later edits of the record cannot change what versions are judged on.
Only records that no dataset snapshot of the line's versions contains are eligible, and
every held-out content key is excluded from every later dataset build through curation's
exclusion hook (`held_out_content_keys`). Dataset builds are not tied to a line, so a
record held out by any line stays out of every build: stricter than needed, never leaky.

Records are matched by content, not only by identity: a record whose normalised prompt and
answer hash like a held-out record's, or whose word shingles reach ARENA_HOLDOUT_TWIN_JACCARD
with one (MinHash LSH, then checked exactly), is its twin (a lesson sent again with another
`result`, a re-worded copy) and is left out of builds and of evaluations like the record itself.
"""

import hashlib
import json
import random
import re
import unicodedata

from datasketch import MinHash, MinHashLSH
from django.conf import settings
from django.db import transaction
from django.db.models import Max

from arena.models import Holdout, HoldoutItem
from artifacts import store as artifact_store
from curation.models import CommitExample, Conversation, Lesson
from curation.pipeline import secrets
from curation.services.sources import READERS, collect
from models_registry.adapters import AdapterError, data_path

RECORD_MODELS = {"lesson": Lesson, "commit": CommitExample, "conversation": Conversation}
ALL_SOURCES = ["lessons", "commits", "conversations"]


class HoldoutError(ValueError):
    """A holdout cannot be taken; str() says why."""


def held_out_content_keys() -> set[str]:
    """Content keys of every held-out record of any line and of every approved twin of one (curation's hook)."""
    keys = set(HoldoutItem.objects.values_list("content_key", flat=True).distinct())
    items = list(HoldoutItem.objects.values_list("id", "messages", "answer"))
    if not items:
        return keys
    index = TwinIndex((pk, _prompt(messages), answer) for pk, messages, answer in items)
    twins: dict[str, set[int]] = {}
    for function in READERS.values():
        for example in function(sorted(keys)):
            turns = example.chat_turns()
            if turns and index.find(_prompt(turns[:-1]), turns[-1]["content"]) is not None:
                twins.setdefault(example.kind, set()).add(example.id)
    for kind, ids in twins.items():
        keys |= set(RECORD_MODELS[kind].objects.filter(id__in=ids).values_list("content_key", flat=True))
    return keys


# ---------------------------------------------------------------------------- matching by content
def normalise(text: str) -> str:
    """Case, width, punctuation and spacing folded away: what makes two texts the same content."""
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text or "").casefold()))


def _prompt(turns: list[dict]) -> str:
    """The user turns of a conversation (a system prompt added by a build does not make a record different)."""
    return "\n".join(t.get("content") or "" for t in turns if t.get("role") == "user")


def _shingles(prompt: str, answer: str) -> set[str]:
    words = f"{normalise(prompt)} | {normalise(answer)}".split()
    return {" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))}


def _digest(prompt: str, answer: str) -> str:
    return hashlib.sha256(f"{normalise(prompt)}\x1f{normalise(answer)}".encode()).hexdigest()


class TwinIndex:
    """Held-out texts indexed by exact normalised hash and by MinHash LSH; find() names the one a text twins."""

    NUM_PERM = 128

    def __init__(self, entries):
        self.threshold = settings.ARENA_HOLDOUT_TWIN_JACCARD
        self.exact: dict[str, object] = {}
        self.shingles: dict[str, tuple[object, set[str]]] = {}
        # LSH only proposes candidates (each is checked exactly): a threshold below the real one keeps
        # pairs just above it from slipping through the bands.
        self.lsh = MinHashLSH(threshold=max(0.1, self.threshold - 0.3), num_perm=self.NUM_PERM)
        for ref, prompt, answer in entries:
            self.exact.setdefault(_digest(prompt, answer), ref)
            name = str(len(self.shingles))
            shingles = _shingles(prompt, answer)
            self.shingles[name] = (ref, shingles)
            self.lsh.insert(name, self._signature(shingles))

    def _signature(self, shingles: set[str]) -> MinHash:
        signature = MinHash(num_perm=self.NUM_PERM, seed=1)
        signature.update_batch([s.encode() for s in sorted(shingles)])
        return signature

    def find(self, prompt: str, answer: str):
        """The reference of the held-out entry this text is a copy or near copy of, else None."""
        found = self.exact.get(_digest(prompt, answer))
        if found is not None:
            return found
        shingles = _shingles(prompt, answer)
        for name in sorted(self.lsh.query(self._signature(shingles))):
            ref, held = self.shingles[name]
            if len(shingles & held) / len(shingles | held) >= self.threshold:
                return ref
        return None


def trained_holdout_items(items: list, versions: list) -> set[int]:
    """Ids of holdout `items` that a version's dataset snapshot contains: the same record, or a twin by content."""
    snapshots = {v.dataset for v in versions if v is not None and v.dataset_id}
    if not items or not snapshots:
        return set()
    index = TwinIndex((item.pk, _prompt(item.messages), item.answer) for item in items)
    by_source = {(item.source_kind, int(item.source_id)): item.pk for item in items}
    trained: set[int] = set()
    for snapshot in snapshots:
        try:
            rows = _snapshot_rows(snapshot)
        except HoldoutError:
            continue  # a snapshot file no longer on disk: nothing to exclude from it
        for source, messages in rows:
            if source in by_source:
                trained.add(by_source[source])
            if messages:
                found = index.find(_prompt(messages[:-1]), messages[-1]["content"])
                if found is not None:
                    trained.add(found)
    return trained


def _snapshot_file(snapshot):
    """The snapshot's file on this host: with a remote artifact store, fetched (sha256-checked) where it is
    missing or different here, since an evaluation runs on whichever worker takes it."""
    if artifact_store.is_remote():
        try:
            artifact_store.fetch_file(snapshot.path, snapshot.sha256)
        except artifact_store.ArtifactMissing as exc:
            raise HoldoutError(f"cannot read dataset snapshot {snapshot}: {exc}") from None
    return data_path(snapshot.path)


def _snapshot_rows(snapshot) -> list[tuple[tuple[str, int] | None, list[dict] | None]]:
    """((kind, id) or None, chat messages or None) of each row of a snapshot file."""
    from training.trainer.data import to_messages

    rows = []
    try:
        with _snapshot_file(snapshot).open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                source = record.get("source") or {}
                ref = (str(source.get("kind")), int(source["id"])) if source.get("id") is not None else None
                try:
                    messages = to_messages(record)[1]
                except (ValueError, KeyError, TypeError):
                    messages = None
                rows.append((ref, messages))
    except (OSError, AdapterError, ValueError) as exc:
        raise HoldoutError(f"cannot read dataset snapshot {snapshot}: {exc}") from exc
    return rows


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
        with _snapshot_file(snapshot).open(encoding="utf-8") as handle:
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
