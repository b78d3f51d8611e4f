"""Stopping on SIGINT and SIGTERM without a KeyboardInterrupt in the middle of the work.

A terminal sends Ctrl-C's SIGINT to every process of the foreground job, and a
service manager may send SIGTERM to the whole group. Python turns SIGINT into a
KeyboardInterrupt wherever the main thread happens to be, and a spawned child
gets one too, with a traceback of its own. So the processes that send decide
themselves how they stop:

- the process in charge (`dispatch`, `send --wait`, the desktop's dispatcher child)
  turns the signals into a `StopRequest`: a flag and a file descriptor to wait on;
- helper children are started with the stop signals blocked (`blocked`) and, once
  running, ignore SIGINT (`run_ignoring_interrupt`): the process in charge stops them.
  A SIGINT that lands while a child is still starting is then never delivered.
"""

from __future__ import annotations

import os
import select
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, Self

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)

STOPPED_BY_SOMEONE = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGKILL, signal.SIGHUP})
"""Signals that mean a person or a service manager stopped a process (not that it crashed)."""


@contextmanager
def blocked(signals: Sequence[signal.Signals] = STOP_SIGNALS) -> Iterator[None]:
    """Block `signals` in this thread while a child is started: the child inherits the mask."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run_ignoring_interrupt(target: Callable[..., None], *args: Any) -> None:
    """Child entry point (started under `blocked`): ignore SIGINT, then run `target(*args)`.

    SIGTERM stays blocked: `target` decides what it does (`unblock_term`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a pending Ctrl-C is discarded here
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    target(*args)


def unblock_term() -> None:
    """Let SIGTERM through (its default action, or the handler installed first)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])


class StopRequest:
    """Signals turned into a flag and a wake-up, installed by the main thread.

    `wait()` returns once a signal came; the object can also be passed to
    `multiprocessing.connection.wait` next to pipes. A second signal calls
    `on_again` (e.g. "stop now, do not wait for in-flight sends").

    Use as a context manager: the previous handlers come back on exit.
    """

    def __init__(self, signals: Sequence[signal.Signals] = STOP_SIGNALS,
                 on_again: Callable[[], None] | None = None) -> None:
        self.signals = tuple(signals)
        self.on_again = on_again
        self.signum: int | None = None
        self.count = 0
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._old: dict[signal.Signals, Any] = {}

    def __enter__(self) -> Self:
        for sig in self.signals:
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()
        os.close(self._read)
        os.close(self._write)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.signum is None:
            self.signum = signum
        try:
            os.write(self._write, b"!")
        except OSError:  # the pipe is full: a wake-up is already waiting
            pass
        if self.count > 1 and self.on_again is not None:
            self.on_again()

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, as a shell reports a process stopped by it (Ctrl-C: 130)."""
        return 128 + (self.signum or signal.SIGINT)

    def fileno(self) -> int:
        return self._read

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a signal came (True) or `timeout` seconds passed (False)."""
        if not self.requested:
            select.select([self._read], [], [], timeout)
        return self.requested
