"""When the garbage collector may stop the GUI thread.

A full (generation 2) collection holds the GIL while it walks every tracked
object; whichever thread triggers it, the GUI thread waits. CPython starts one
whenever the objects that survived since the last one reach a quarter of the
long-lived heap, which a background read of ten thousand rows does every few
seconds while a broadcast is watched live. Measured with the responsiveness
benchmark (10,000 recipients): full collections of 30-110 ms were the longest
GUI stalls; with this policy the longest stall fell from 63-77 ms to 26 ms.

The policy: what start-up built lives as long as the window and is frozen
(never walked again; start-up ends after the first window, when the other pages
and the embedded services are made, so the app freezes again then); young
collections run less often (every 20,000 net allocations instead of 700; each
still takes a few milliseconds); automatic full collections practically never
run, and a timer runs one instead when the app is idle: no background work, and
no deliveries or answers arriving for QUIET_S seconds (a broadcast watched live
is not idle even between two reads). Garbage cycles are still reclaimed.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger("console.gui.gcpolicy")

THRESHOLDS = (20_000, 50, 1_000)
IDLE_COLLECT_MS = 60_000
QUIET_S = 10.0


class CollectWhenIdle(QObject):
    """Freezes what exists now, raises the thresholds, and runs full collections when idle.

    Args:
        busy: True while background work runs (then the collection waits for the next tick).
        interval_ms: how often to try.
        quiet_s: how long after the last `activity()` the app counts as idle again.
    """

    def __init__(self, busy: Callable[[], bool], parent: QObject | None = None,
                 interval_ms: int = IDLE_COLLECT_MS, quiet_s: float = QUIET_S) -> None:
        super().__init__(parent)
        self._busy = busy
        self._quiet_s = quiet_s
        self._last_activity = float("-inf")
        self.collections = 0
        self.freeze()
        gc.set_threshold(*THRESHOLDS)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_if_idle)
        self._timer.start()

    @staticmethod
    def freeze() -> None:
        """Everything alive now lives as long as the app: never walk it again."""
        gc.freeze()

    def activity(self, *_args: object) -> None:
        """Something live happened (a delivery or answer recorded): not idle for a while."""
        self._last_activity = time.monotonic()

    @property
    def idle(self) -> bool:
        return not self._busy() and time.monotonic() - self._last_activity >= self._quiet_s

    def collect_if_idle(self) -> bool:
        """One full collection, unless the app is busy; True if it ran."""
        if not self.idle:
            return False
        started = time.perf_counter()
        found = gc.collect()
        self.collections += 1
        log.debug("idle full collection: %d unreachable objects in %.1f ms", found,
                  (time.perf_counter() - started) * 1000)
        return True
