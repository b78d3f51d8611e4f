"""A one-line progress bar on a terminal (stderr), silent elsewhere; notes go to stderr always."""

from __future__ import annotations

import sys
import threading
import time


class Progress:
    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.retrying = 0
        self.enabled = enabled
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._drawn = False

    def advance(self, n: int, *, retrying: int | None = None) -> None:
        """`n` more are finished (sent or failed); `retrying` are waiting for another try."""
        with self._lock:
            changed = bool(n) or (retrying is not None and retrying != self.retrying)
            self.done = min(self.total, self.done + n)
            if retrying is not None:
                self.retrying = retrying
            if self.enabled and changed:
                self._draw()

    def note(self, text: str) -> None:
        """A line of its own, on a terminal above the bar."""
        with self._lock:
            if self._drawn:
                sys.stderr.write("\n")
                self._drawn = False
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
            if self.enabled:
                self._draw()

    def _draw(self) -> None:
        width = 30
        filled = int(width * self.done / self.total)
        rate = self.done / max(time.monotonic() - self._start, 1e-6)
        retrying = f"  {self.retrying} retrying" if self.retrying else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  {rate:,.0f}/s"
                         f"{retrying}   ")
        sys.stderr.flush()
        self._drawn = True

    def close(self) -> None:
        if self.enabled and self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
