"""SIGTERM: the trainer stops at the next step boundary with a checkpoint, and says so.

A worker that shuts down (Celery's warm shutdown), a cancel, `docker stop` on the container
or an orchestrator ending the host all send SIGTERM. While the loop trains, the handler only
notes the request: the loop finishes the step it is in, saves a checkpoint of it (unless one
was just saved) and raises Stopped. Before the loop (loading the model) and after it (writing
the adapter) there is nothing a checkpoint would keep, so the handler raises Stopped at once.
`python -m training.trainer` then prints `{"event": "stopped", "step": N}` and exits with 6.

Stopped is a BaseException, like KeyboardInterrupt: an `except Exception` around a library
call (a prompt template, a tokenizer) must not swallow it.

In a container the trainer is PID 1, which the kernel shields from signals that have no
handler: installing this one is also what lets `docker stop` reach it at all.
"""

from __future__ import annotations

import contextlib
import signal

# What `python -m training.trainer` exits with after it stopped this way.
EXIT_CODE = 6
_state = {"requested": False, "deferred": False}


class Stopped(BaseException):
    """The trainer was asked to stop (SIGTERM); `step` is the step of its last checkpoint, if any."""

    def __init__(self, step: int | None = None):
        super().__init__(f"stopped by SIGTERM at step {step}" if step is not None else "stopped by SIGTERM")
        self.step = step


def install() -> None:
    """Handle SIGTERM from now on (call once, from the trainer's main thread)."""
    _state.update(requested=False, deferred=False)
    signal.signal(signal.SIGTERM, _handle)


def requested() -> bool:
    return _state["requested"]


@contextlib.contextmanager
def at_step_boundaries():
    """Inside: SIGTERM waits for the loop to reach a step boundary (it checks `requested()`)."""
    _state["deferred"] = True
    try:
        yield
    finally:
        _state["deferred"] = False


def _handle(signum, frame) -> None:
    _state["requested"] = True
    if not _state["deferred"]:
        raise Stopped()
