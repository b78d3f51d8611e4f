"""When a failed delivery is tried again, and when it is given up.

A crisis does not wait for a relay to come back, but it must not lose the
message either: a failed delivery is retried with a capped exponential backoff
for a retry *window* measured from the delivery's creation, not for a fixed
number of attempts. A relay outage shorter than the window costs time, never a
message. Only an error that retrying cannot fix fails at once (see
`console.broadcast.dispatcher`, which decides what is permanent).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from console.valuetypes import Duration as Duration
from console.valuetypes import format_duration as format_duration
from console.valuetypes import parse_duration as parse_duration


class GiveUp(StrEnum):
    """Why a delivery was marked failed (in its `delivery.failed` audit entry)."""

    PERMANENT = "an error that retrying cannot fix"
    WINDOW = "the retry window ended"
    ATTEMPTS = "the attempt limit was reached"


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff within a window.

    Attributes:
        window: seconds from a delivery's creation during which it is retried.
        base: the first retry delay in seconds; it doubles per attempt.
        max_delay: no retry waits longer than this.
        max_attempts: an optional cap on attempts; 0 means none (the window decides).
        jitter: each delay is shortened by a random fraction up to this, so deliveries that
            failed together do not all come back to the relay in the same instant.
    """

    window: float = 1800.0
    base: float = 2.0
    max_delay: float = 60.0
    max_attempts: int = 0
    jitter: float = 0.2

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        exponent = min(max(attempts - 1, 0), 60)  # 2**60 s is long past any cap
        capped = min(self.max_delay, self.base * (2 ** exponent))
        return capped * (1.0 - self.jitter * rand())

    def next_attempt(self, attempts: int, created_at: dt.datetime, now: dt.datetime,
                     rand: Callable[[], float] = random.random) -> dt.datetime | GiveUp:
        """When to try again after `attempts` failed attempts, or why not to.

        The last try is made when the window ends, so a relay that comes back
        just before then still gets the message.
        """
        if self.max_attempts and attempts >= self.max_attempts:
            return GiveUp.ATTEMPTS
        deadline = created_at + dt.timedelta(seconds=self.window)
        if now >= deadline:
            return GiveUp.WINDOW
        return min(now + dt.timedelta(seconds=self.delay(attempts, rand)), deadline)
