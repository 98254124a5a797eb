"""Importing the agent's lesson store (MEMORY_ROOT/lessons.json) when it changes.

The file is read only when its size or modification time moved since the last import, and
ingested only when its sha256 changed; ingestion itself is keyed by content, so even a
forced re-import creates nothing twice. Imported lessons follow the review rules like any
other (AUTO_APPROVE_SOURCES decides whether they wait for a reviewer).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from curation.services.ingest import IngestResult, PayloadError, ingest_lessons
from professor.models import MemoryImport

LESSONS_FILE = "lessons.json"
EMPTY = "no records in the payload"  # curation's message for a store with no lessons


@dataclass
class MemoryResult:
    """What one check of the lesson store did; `message` says it in a sentence."""

    status: str  # "missing", "unchanged", "imported", "invalid"
    message: str
    created: int = 0
    duplicates: int = 0
    skipped: int = 0
    path: str = ""

    def numbers(self) -> dict:
        return {"created": self.created, "duplicates": self.duplicates, "skipped": self.skipped}


def lessons_path() -> Path:
    return Path(settings.MEMORY_ROOT) / LESSONS_FILE


def import_memory(*, force: bool = False) -> MemoryResult:
    """Import new lessons from the lesson store if the file changed since the last import."""
    path = lessons_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return MemoryResult("missing", f"no lesson store at {path}", path=str(path))
    previous = MemoryImport.objects.filter(path=str(path)).first()
    if previous and not force and previous.size == stat.st_size and previous.mtime == stat.st_mtime:
        return MemoryResult("unchanged", f"{path} has not changed since {previous.imported_at:%Y-%m-%d %H:%M}",
                            path=str(path))
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if previous and not force and previous.sha256 == digest:
        MemoryImport.objects.filter(pk=previous.pk).update(size=stat.st_size, mtime=stat.st_mtime)
        return MemoryResult("unchanged", f"{path} was touched but its content is the same", path=str(path))
    try:
        result = ingest_lessons(_normalise(raw), origin="memory")
    except PayloadError as exc:
        if exc.message == EMPTY:
            result = IngestResult()
        else:
            return _invalid(path, exc)
    MemoryImport.objects.update_or_create(path=str(path), defaults={
        "sha256": digest, "size": stat.st_size, "mtime": stat.st_mtime, "created": result.created,
        "duplicates": result.duplicates, "skipped": len(result.skipped), "imported_at": timezone.now()})
    return MemoryResult("imported", f"imported {result.created} new lessons from {path} "
                                    f"({result.duplicates} already known, {len(result.skipped)} skipped)",
                        created=result.created, duplicates=result.duplicates, skipped=len(result.skipped),
                        path=str(path))


def _invalid(path: Path, exc: PayloadError) -> MemoryResult:
    details = "; ".join(exc.details[:3])
    return MemoryResult("invalid", f"{path} could not be imported: {exc.message}{': ' + details if details else ''}",
                        path=str(path))


def _normalise(raw: bytes):
    """A store that keeps lessons as {id: lesson} becomes the list the importer reads; anything else as is."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    lessons = data.get("lessons") if isinstance(data, dict) else None
    if isinstance(lessons, dict):
        return {"lessons": [{"lesson_id": key, **value} if isinstance(value, dict) and "lesson_id" not in value
                            else value for key, value in lessons.items()]}
    return data
