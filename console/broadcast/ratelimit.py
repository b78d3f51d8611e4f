"""Per-channel rate limits shared by the sender threads of one dispatcher."""

from __future__ import annotations

import threading
import time


class RateLimits:
    """One schedule per channel: each send takes the next free slot, 1/rate apart.

    Slots are handed out under a lock and the wait happens outside it, so a
    slow channel only holds up the senders that have its messages.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[int, float] = {}

    def acquire(self, channel_id: int, per_second: float) -> float:
        """Wait for this channel's next slot; returns the seconds waited."""
        interval = 1.0 / per_second
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(channel_id, now))
            self._next[channel_id] = slot + interval
        wait = slot - now
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)
