"""The status bar: which database, whether sending and answering work, and where answers go."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStatusBar, QWidget

from console.gui.services import FAILED, OFF, RUNNING, STARTING, ServiceState


class StatusItem(QWidget):
    """A coloured dot and a short text; the dot's colour comes from the stylesheet (property "state")."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 0, 10, 0)
        row.setSpacing(6)
        self.dot = QLabel()
        self.dot.setObjectName("statusDot")
        self.dot.setFixedSize(8, 8)
        self.label = QLabel()
        self.label.setObjectName("statusText")
        row.addWidget(self.dot, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.label)

    def set(self, state: str, text: str, tooltip: str = "") -> None:
        self.dot.setProperty("state", state)
        self.dot.style().unpolish(self.dot)
        self.dot.style().polish(self.dot)
        self.label.setText(text)
        self.setToolTip(tooltip)

    def text(self) -> str:
        return self.label.text()

    def state(self) -> str:
        return str(self.dot.property("state"))


class StatusBar(QStatusBar):
    """Permanent items on the right: busy, database, dispatcher, acknowledgement service."""

    def __init__(self, db_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.setSizeGripEnabled(False)
        self.busy = QProgressBar()
        self.busy.setObjectName("busy")
        self.busy.setRange(0, 0)
        self.busy.setFixedSize(90, 6)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.database = StatusItem("dbStatus")
        self.database.set(RUNNING, self.tr("Database: %1").replace("%1", _elide(db_label)), db_label)
        self.dispatcher = StatusItem("dispatcherStatus")
        self.ack = StatusItem("ackStatus")
        for widget in (self.busy, self.database, self.dispatcher, self.ack):
            self.addPermanentWidget(widget)
        self.set_services(ServiceState())

    def set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)

    def set_services(self, state: ServiceState) -> None:
        notes = "\n".join(state.notes)
        sending = {
            STARTING: self.tr("Sending: starting…"),
            RUNNING: self.tr("Sending: running"),
            OFF: self.tr("Sending: external dispatcher"),
            FAILED: self.tr("Sending: stopped"),
        }[state.dispatcher]
        self.dispatcher.set(state.dispatcher, sending, notes if state.dispatcher == FAILED else "")
        public = state.public_url or ""
        if state.ack == RUNNING:
            text = self.tr("Answers: up at %1").replace("%1", public)
            tip = self.tr("Links point to %1; this console listens on %2.").replace("%1", public)\
                .replace("%2", state.ack_url or "")
        elif state.ack == OFF:
            text = self.tr("Answers: external service at %1").replace("%1", public)
            tip = self.tr("The acknowledgement service runs elsewhere (setting ack.embedded is off).")
        elif state.ack == STARTING:
            text, tip = self.tr("Answers: starting…"), ""
        else:
            text, tip = self.tr("Answers: service down"), notes
        self.ack.set(state.ack, text, "\n".join(t for t in (tip, notes) if t) if state.ack != FAILED else tip)


def _elide(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else f"{text[:30]}…{text[-(limit - 31):]}"
