"""Write a folder beside its final place, then rename it there: a crash never leaves a half-written one.

No Django import, so the trainer side may use it too.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A path (not created yet) to write the new `target` folder at, in a hidden scratch folder beside it.

    When the block ends without an error, the folder written there replaces `target`; the
    scratch folder is removed either way. Each call has its own scratch folder, so two writers
    of the same target never mix their files.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        folder = scratch / target.name
        yield folder
        replace_folder(folder, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def replace_folder(folder: Path, target: Path) -> None:
    """Move `folder` to `target`, removing what was there first (both on the same file system)."""
    if target.exists():
        shutil.rmtree(target)
    folder.rename(target)
