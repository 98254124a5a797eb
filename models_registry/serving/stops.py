"""Stop sequences over text that arrives in pieces (a marker may straddle two pieces)."""


class StopScanner:
    """Feed text pieces; get back what may be shown, never any part of a stop marker.

    Text that could still be the start of a marker is held back until the next piece
    decides it. Once a marker is seen, `stopped` is set and nothing more is emitted.
    """

    def __init__(self, stops):
        self.stops = [s for s in stops if s]
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self._pending = ""
        self.stopped = False

    def push(self, piece: str) -> str:
        if self.stopped:
            return ""
        self._pending += piece
        cut = min((i for i in (self._pending.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self._pending = self._pending[:cut], ""
            return out
        if self._hold == 0:
            out, self._pending = self._pending, ""
            return out
        keep = self._held_back()
        out, self._pending = self._pending[:len(self._pending) - keep], self._pending[len(self._pending) - keep:]
        return out

    def flush(self) -> str:
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out

    def _held_back(self) -> int:
        # The longest tail of the pending text that is a prefix of some marker.
        for size in range(min(self._hold, len(self._pending)), 0, -1):
            tail = self._pending[-size:]
            if any(s.startswith(tail) for s in self.stops):
                return size
        return 0
