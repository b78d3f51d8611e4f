"""Rate limits of the answer service.

`FailureLimiter`: invalid tokens per client address. Tokens cannot be guessed
(192 bits), so the limit is not what keeps links secret; it keeps a scanner
or a script that sprays made-up links from costing work. Only failures count,
and a blocked address is refused only what is invalid: a request that carries
a valid personal link is always served (a whole company behind one NAT address
shares the fate of its noisiest machine otherwise).

`RequestLimiter`: requests per key within a sliding window, for what a valid
token can still be abused for: a replay loop on one personal link, and the
group link (anyone who has it can type in any email) per link and per address.

IPv6 clients are counted per /64, since one host usually owns a whole /64.
Per process: several instances each keep their own.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    """Blocks an address for `block` seconds after `max_failures` failures within `window` seconds.

    Args:
        max_failures: invalid requests allowed within the window.
        window: seconds over which failures are counted.
        block: seconds an address stays blocked.
        max_tracked: addresses remembered at most; the oldest are forgotten beyond it.
        clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(self, max_failures: int = 30, window: float = 60.0, block: float = 300.0, *,
                 max_tracked: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        if max_failures < 1 or window <= 0 or block <= 0:
            raise ValueError("max_failures, window and block must be positive")
        self.max_failures = max_failures
        self.window = window
        self.block = block
        self._max_tracked = max_tracked
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._blocked: dict[str, float] = {}

    def retry_after(self, address: str) -> float:
        """Seconds this address stays blocked; 0 when it may go on."""
        if not self._blocked:  # the normal case, without a lock or parsing the address
            return 0.0
        key = client_key(address)
        with self._lock:
            until = self._blocked.get(key)
            if until is None:
                return 0.0
            left = until - self._clock()
            if left <= 0:
                del self._blocked[key]
                return 0.0
            return left

    def failure(self, address: str) -> bool:
        """Count one invalid request; True when this one blocks the address."""
        key = client_key(address)
        now = self._clock()
        with self._lock:
            times = self._failures.get(key)
            if times is None:
                if len(self._failures) >= self._max_tracked:
                    self._forget(now)
                times = self._failures[key] = deque(maxlen=self.max_failures)
            times.append(now)
            if len(times) == self.max_failures and now - times[0] <= self.window:
                self._blocked[key] = now + self.block
                del self._failures[key]
                return True
            return False

    def _forget(self, now: float) -> None:
        stale = [k for k, t in self._failures.items() if now - t[-1] > self.window]
        for key in stale:
            del self._failures[key]
        while len(self._failures) >= self._max_tracked:  # all recent: drop the oldest inserted
            del self._failures[next(iter(self._failures))]
        for key in [k for k, until in self._blocked.items() if until <= now]:
            del self._blocked[key]


class RequestLimiter:
    """At most `max_requests` per key within `window` seconds; what is over is refused, not counted.

    Args:
        max_requests: requests allowed per key within the window.
        window: seconds.
        max_tracked: keys remembered at most; the least recently seen are forgotten beyond it.
        clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(self, max_requests: int, window: float, *, max_tracked: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_requests < 1 or window <= 0:
            raise ValueError("max_requests and window must be positive")
        self.max_requests = max_requests
        self.window = window
        self._max_tracked = max_tracked
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> float:
        """Count one request for `key`: 0 when allowed, else the seconds until one is."""
        now = self._clock()
        with self._lock:
            times = self._hits.pop(key, None)  # re-inserted last: the dict stays in recency order
            if times is None:
                times = deque(maxlen=self.max_requests)
                while len(self._hits) >= self._max_tracked:
                    del self._hits[next(iter(self._hits))]
            self._hits[key] = times
            if len(times) == self.max_requests:
                wait = times[0] + self.window - now
                if wait > 0:
                    return wait
            times.append(now)
            return 0.0


def client_key(address: str) -> str:
    """The address an attacker cannot trivially rotate: IPv4 as is, IPv6 by its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
