"""The JSON-lines protocol on stdout.

stdout carries protocol lines only: at start-up the real stdout is kept for `emit` and
sys.stdout is pointed at stderr, so stray prints and progress bars from libraries end up
on stderr as log lines. Each protocol line is one JSON object, flushed at once.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

_out = None


def take_stdout() -> None:
    """Reserve the process's stdout for protocol lines; route everything else to stderr."""
    global _out
    if _out is not None:
        return
    _out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    sys.stdout.flush()
    # File descriptor 1 itself now points at stderr, so C-level writes and child
    # processes cannot interleave non-protocol text with our lines either.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def emit(event: str, **fields) -> dict:
    """Write one protocol line (`{"event": event, ...}`) and flush it."""
    line = {"event": event, **{k: _clean(v) for k, v in fields.items()}}
    stream = _out or sys.stdout
    stream.write(json.dumps(line, sort_keys=False) + "\n")
    stream.flush()
    return line


def log(message: str) -> None:
    """A human log line (stderr)."""
    print(f"[trainer] {message}", file=sys.stderr, flush=True)


def now() -> float:
    return round(time.time(), 3)


def _clean(value):
    """JSON has no NaN/inf: report them as null rather than emit an unparsable line."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
