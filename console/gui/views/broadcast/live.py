"""One database read at a time in a worker, however often a refresh is asked for.

Live views are asked to refresh by timers and by bridge signals that may come
in bursts (a dispatcher batch every 50 ms). Each `request` while a read runs
folds into one more read after it, started no sooner than `min_interval_ms`
after the previous one, so the database and the GUI thread see a bounded rate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal

from console.gui.tasks import TaskRunner, describe

log = logging.getLogger("console.gui.live")

Plan = Callable[[], "tuple[Callable[[], Any], Callable[[Any], None]] | None"]
"""Called on the GUI thread when a read starts: the job for the worker and what to do with its result."""


class LiveQuery(QObject):
    """Coalesces refresh requests into one running worker read.

    Signals:
        failed(str): a read failed; the text is for a person (the next request retries).
        idle(): no read is running and none is waiting.
    """

    failed = Signal(str)
    idle = Signal()

    def __init__(self, tasks: TaskRunner, plan: Plan, min_interval_ms: int = 200,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._plan = plan
        self._running = False
        self._wanted = False
        self._clock = QElapsedTimer()
        self._min = min_interval_ms
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.timeout.connect(self._start)

    @property
    def busy(self) -> bool:
        return self._running or self._wanted

    def request(self) -> None:
        self._wanted = True
        if self._running or self._later.isActive():
            return
        elapsed = self._clock.elapsed() if self._clock.isValid() else self._min
        if elapsed >= self._min:
            self._start()
        else:
            self._later.start(self._min - elapsed)

    def _start(self) -> None:
        if self._running or not self._wanted:
            return
        self._wanted = False
        planned = self._plan()
        if planned is None:
            self.idle.emit()
            return
        job, apply = planned
        self._running = True
        self._clock.start()

        def done(result: Any) -> None:
            if not shiboken6.isValid(self):
                return  # the view went away while its read ran
            self._running = False
            try:
                apply(result)
            finally:
                self._next()

        def failed(exc: Exception) -> None:
            if not shiboken6.isValid(self):
                return
            self._running = False
            log.warning("live read failed: %s", describe(exc))
            self.failed.emit(describe(exc))
            self._next()

        self._tasks.run(job, done, failed)

    def _next(self) -> None:
        if self._wanted:
            self.request()
        else:
            self.idle.emit()
