"""A one-line progress bar on a terminal (stderr), silent elsewhere."""

from __future__ import annotations

import sys
import threading
import time


class Progress:
    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled
        self._start = time.monotonic()
        self._lock = threading.Lock()

    def advance(self, n: int) -> None:
        if not n:
            return
        with self._lock:
            self.done = min(self.total, self.done + n)
            if self.enabled:
                self._draw()

    def _draw(self) -> None:
        width = 30
        filled = int(width * self.done / self.total)
        rate = self.done / max(time.monotonic() - self._start, 1e-6)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  {rate:,.0f}/s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
