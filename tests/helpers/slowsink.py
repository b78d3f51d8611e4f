"""An SMTP server (aiosmtpd) that takes its time over each message, so sends are in flight.

A message counts as accepted only once the server answered 250: when the client
goes away during the wait (its process was stopped), aiosmtpd cancels the
handler and the message is dropped, as a relay drops a message whose end of
data it never acknowledged.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Callable
from typing import Any, Self

from console.mailsink.sink import start_controller


class SlowSink:
    """Accepts every message `delay` seconds after its data arrived (changeable while running)."""

    def __init__(self, delay: float, port: int = 0) -> None:
        self.delay = delay
        self._port = port
        self._lock = threading.Lock()
        self._accepted: list[str] = []
        self._in_data = 0
        self._controller: Any = None

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def in_data(self) -> int:
        """Messages whose data arrived and that wait for their 250."""
        with self._lock:
            return self._in_data

    @property
    def accepted(self) -> collections.Counter[str]:
        with self._lock:
            return collections.Counter(self._accepted)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self._in_data += 1
        try:
            await asyncio.sleep(self.delay)
        finally:
            with self._lock:
                self._in_data -= 1
        with self._lock:
            self._accepted.extend(envelope.rcpt_tos)
        return "250 OK"

    def start(self) -> Self:
        self._controller = start_controller(self, "127.0.0.1", self._port)
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.05)
