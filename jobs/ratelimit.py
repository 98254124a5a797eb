"""A log that says the same thing at most once per interval, with a count of what it held back.

Used where an outage would otherwise repeat one traceback many times a second (broker or
channel layer down while a run streams metrics).
"""

from __future__ import annotations

import logging
import threading
import time


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, every_seconds: float = 30.0):
        self.logger = logger
        self.every = every_seconds
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._held = 0

    def _due(self) -> int | None:
        """None when this message is held back, else how many were held back before it."""
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.every:
                self._held += 1
                return None
            held, self._held, self._last = self._held, 0, now
            return held

    def warning(self, message: str, *args, exc_info: bool = False) -> bool:
        held = self._due()
        if held is None:
            return False
        suffix = f" ({held} similar message(s) held back in the last {self.every:.0f} s)" if held else ""
        self.logger.warning(message + suffix, *args, exc_info=exc_info)
        return True

    def exception(self, message: str, *args) -> bool:
        return self.warning(message, *args, exc_info=True)

    def reset(self) -> None:
        """The outage is over: the next failure logs at once."""
        with self._lock:
            self._last = float("-inf")
            self._held = 0
