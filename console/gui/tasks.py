"""Running blocking work off the GUI thread and handing results back to it.

A job is a plain callable run by a QRunnable on the runner's own QThreadPool;
its result or exception comes back through a queued signal, so `done` and
`failed` always run on the GUI thread and may touch widgets. The job itself
must not.

Jobs run at a lower CPU priority than the GUI thread (JOB_NICE): a read of a
10,000-person broadcast is Python work that, on a machine whose cores are busy
sending, would otherwise take the GUI thread's turns on a core while it paints.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QRunnable, QThreadPool, Signal, Slot

from console.errors import ConsoleError

log = logging.getLogger("console.gui.tasks")

T = TypeVar("T")

# Pools are never destroyed by Qt: ~QThreadPool waits for running jobs while the
# GUI thread holds the GIL, and a job that needs the GIL to finish would then
# deadlock the app (seen when a window closed during a database read). Kept
# here, a pool lives for the process; its idle threads expire on their own.
_POOLS: list[QThreadPool] = []

JOB_NICE = 5
"""How much lower (POSIX niceness) jobs run than the GUI thread. Measured with `python -m
console.bench gui` (10,000 recipients, embedded dispatcher), three runs each, back to back:
longest GUI stall 27-44 ms with it, 44-55 ms without; sending rate within noise."""
_PER_THREAD_NICE = sys.platform.startswith("linux")  # elsewhere setpriority would lower the whole process


def _nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def run_at_nice(nice: int) -> None:
    """Set the calling thread's niceness to `nice` (absolute: a pool thread may have been started by
    another job's thread and inherited its value). A no-op where niceness is not per thread."""
    if not _PER_THREAD_NICE:
        return
    try:
        if _nice_of_this_thread() != nice:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError as exc:  # a sandbox may forbid it; the job still runs
        log.debug("could not lower a job thread's priority: %s", exc)


def describe(exc: BaseException) -> str:
    """Words for a person: our own errors say what is wrong; others get their type named."""
    if isinstance(exc, ConsoleError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Job(QRunnable):
    def __init__(self, runner: TaskRunner, key: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._runner = runner
        self._key = key
        self._fn = fn
        self._nice = runner.job_nice

    def run(self) -> None:
        run_at_nice(self._nice)
        try:
            result, error = self._fn(), None
        except Exception as exc:  # every failure goes back to the GUI thread (and is logged)
            if not isinstance(exc, ConsoleError):
                log.error("background task failed", exc_info=exc)
            result, error = None, exc
        if shiboken6.isValid(self._runner):  # its window may have closed while the job ran
            self._runner._finished.emit(self._key, result, error)


class TaskRunner(QObject):
    """Runs callables on a thread pool; results come back on the GUI thread.

    Signals:
        busy_changed(bool): True when the first job starts, False when the last ends.
        unhandled(str): a job without a `failed` callback failed; the text is for a person.
    """

    busy_changed = Signal(bool)
    unhandled = Signal(str)
    _finished = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(max_threads)
        _POOLS.append(self._pool)
        self._ids = itertools.count(1)
        self._held: list[_Job] | None = None
        self._callbacks: dict[int, tuple[Callable[[Any], None] | None, Callable[[Exception], None] | None]] = {}
        self._finished.connect(self._deliver)
        self.job_nice = min(19, _nice_of_this_thread() + JOB_NICE) if _PER_THREAD_NICE else 0
        """The niceness jobs run at: JOB_NICE below the thread that made the runner (the GUI thread)."""

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def run(self, fn: Callable[[], T], done: Callable[[T], None] | None = None,
            failed: Callable[[Exception], None] | None = None) -> None:
        key = next(self._ids)
        was_idle = not self._callbacks
        self._callbacks[key] = (done, failed)
        if was_idle:
            self.busy_changed.emit(True)
        job = _Job(self, key, fn)
        if self._held is not None:
            self._held.append(job)
        else:
            self._pool.start(job)

    def hold(self) -> None:
        """Queue jobs instead of starting them, until release()."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Start the jobs queued since hold(), in order; later jobs start at once."""
        held, self._held = self._held, None
        for job in held or ():
            self._pool.start(job)

    @property
    def holding(self) -> bool:
        return self._held is not None

    def wait_idle(self, ms: int = 30_000) -> bool:
        """Wait for running jobs (held ones are started) and deliver their callbacks (tests, shutdown)."""
        self.release()
        finished = self._pool.waitForDone(ms)
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        return finished and not self._callbacks

    @Slot(int, object, object)
    def _deliver(self, key: int, result: object, error: object) -> None:
        done, failed = self._callbacks.pop(key, (None, None))
        try:
            if isinstance(error, Exception):
                if failed is None:
                    self.unhandled.emit(describe(error))
                elif _alive(failed):
                    failed(error)
            elif done is not None and _alive(done):
                done(result)
        finally:
            if not self._callbacks:
                self.busy_changed.emit(False)


def _alive(callback: Callable[..., Any]) -> bool:
    """False for a bound method of a widget that was deleted while its job ran."""
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)
