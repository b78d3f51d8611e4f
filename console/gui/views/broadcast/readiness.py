"""Compose's warning strip: would the answers to this send come back?

Checks what console.services.readiness checks for the CLI (links that only this
machine can open, sent to people elsewhere; no healthy answer service behind
ack.public_url) in a worker, never on the GUI thread: the health probe is a
network call. A warning, never a block: the officer may still send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from console.gui.tasks import TaskRunner
from console.gui.views.broadcast.live import LiveQuery
from console.gui.widgets import Banner
from console.services import readiness
from console.services.readiness import ReadinessWarning
from console.storage import Database

log = logging.getLogger("console.gui.compose")

_Audience = tuple[list[str], list[int], list[str]]


class ReadinessBanner(Banner):
    """An amber strip above the form, shown while something would keep answers from coming back.

    Signals:
        checked(tuple): a check finished and is shown (its ReadinessWarning values; empty: all well).
    """

    checked = Signal(object)

    def __init__(self, db: Database, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("readinessBanner")
        self.db = db
        self.warnings: tuple[ReadinessWarning, ...] = ()
        self._audience: _Audience = ([], [], [])
        self._read = LiveQuery(tasks, self._plan, 0, self)
        self._read.failed.connect(lambda text: log.warning("readiness check failed: %s", text))

    @property
    def busy(self) -> bool:
        """A check is running or waiting to run."""
        return self._read.busy

    def check(self, groups: Sequence[str], contacts: Sequence[int], channels: Sequence[str]) -> None:
        """Check (again) for this audience; checks asked for while one runs fold into one more."""
        self._audience = (list(groups), list(contacts), list(channels))
        self._read.request()

    def _plan(self) -> tuple[Callable[[], tuple[ReadinessWarning, ...]],
                             Callable[[tuple[ReadinessWarning, ...]], None]]:
        db, (groups, contacts, channels) = self.db, self._audience
        return (lambda: readiness.audience_warnings(db, groups, contacts, channels or None)), self._show

    def _show(self, warnings: tuple[ReadinessWarning, ...]) -> None:
        self.warnings = warnings
        if warnings:
            self.show_message("warning", "\n".join(self.tr("Warning: {text}").format(text=w.message)
                                                   for w in warnings))
        else:
            self.clear_message()
        self.checked.emit(warnings)
