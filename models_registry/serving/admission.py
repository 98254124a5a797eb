"""How many chat requests this process takes at once: one generating, SERVING_QUEUE_DEPTH waiting.

Generation is serialized by the engine lock, so a request beyond the queue would only wait
behind the others; it is refused at once with 429 and a Retry-After instead.
"""

import math
import threading

from django.conf import settings

_lock = threading.Lock()
_in_flight = 0


class QueueFull(RuntimeError):
    """Every slot is taken; `retry_after` is a whole number of seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"the serving queue is full ({settings.SERVING_QUEUE_DEPTH} waiting)")
        self.retry_after = retry_after


def enter() -> None:
    """Take a slot or raise QueueFull; every successful enter() is paired with one leave()."""
    global _in_flight
    with _lock:
        if _in_flight >= 1 + settings.SERVING_QUEUE_DEPTH:
            # The running generation ends within SERVING_MAX_SECONDS; a slot frees by then.
            raise QueueFull(max(1, min(60, math.ceil(settings.SERVING_MAX_SECONDS))))
        _in_flight += 1


def leave() -> None:
    global _in_flight
    with _lock:
        _in_flight = max(0, _in_flight - 1)


def in_flight() -> int:
    return _in_flight
