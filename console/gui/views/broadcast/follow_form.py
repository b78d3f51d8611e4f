"""The follow-through part of Compose: send later, remind the silent, fallback channel, escalate.

Only widgets: `fields()` hands plain values to the send request (console.services.broadcasts),
which checks them as it checks the command line's --at, --remind-every, --remind-max,
--fallback-channel and --escalate-after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QDateTime, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDateTimeEdit, QGridLayout, QLabel, QSpinBox, QWidget

from console.services.audience import Choice
from console.vocabulary import PERSONAL_KINDS

MAX_MINUTES = 7 * 24 * 60


class FollowThroughForm(QWidget):
    """When it goes out and how the silent are chased.

    Signals:
        edited(): a setting changed.
    """

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.later_box = QCheckBox(self.tr("Send later, at"))
        self.later_box.setObjectName("sendLater")
        self.send_at = QDateTimeEdit()
        self.send_at.setCalendarPopup(True)
        self.send_at.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.send_at.setDateTime(QDateTime.currentDateTime().addSecs(3600))

        self.remind_box = QCheckBox(self.tr("Remind the silent every"))
        self.remind_box.setObjectName("remindSilent")
        self.remind_minutes = self._minutes(15)
        self.remind_max = QSpinBox()
        self.remind_max.setRange(1, 20)
        self.remind_max.setValue(3)
        self.remind_max.setSuffix(self.tr(" times"))
        self.fallback_box = QComboBox()
        self.fallback_box.setToolTip(self.tr("From the second reminder on, also remind on this channel"))
        self.fallback_box.addItem(self.tr("— no fallback channel —"), None)

        self.escalate_box = QCheckBox(self.tr("Tell their managers after"))
        self.escalate_box.setObjectName("escalate")
        self.escalate_box.setToolTip(self.tr("Each manager (CSV column 'manager') gets one message listing "
                                             "their people who have not answered"))
        self.escalate_minutes = self._minutes(30)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.later_box, 0, 0)
        grid.addWidget(self.send_at, 0, 1, 1, 3)
        grid.addWidget(self.remind_box, 1, 0)
        grid.addWidget(self.remind_minutes, 1, 1)
        grid.addWidget(QLabel(self.tr("at most")), 1, 2)
        grid.addWidget(self.remind_max, 1, 3)
        grid.addWidget(QLabel(self.tr("Fallback channel")), 2, 0)
        grid.addWidget(self.fallback_box, 2, 1, 1, 3)
        grid.addWidget(self.escalate_box, 3, 0)
        grid.addWidget(self.escalate_minutes, 3, 1)

        for box, widgets in ((self.later_box, (self.send_at,)),
                             (self.remind_box, (self.remind_minutes, self.remind_max, self.fallback_box)),
                             (self.escalate_box, (self.escalate_minutes,))):
            for widget in widgets:
                widget.setEnabled(False)
                box.toggled.connect(widget.setEnabled)
            box.toggled.connect(self.edited)
        for spin in (self.remind_minutes, self.remind_max, self.escalate_minutes):
            spin.valueChanged.connect(self.edited)
        self.send_at.dateTimeChanged.connect(self.edited)
        self.fallback_box.currentIndexChanged.connect(self.edited)

    def _minutes(self, value: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(1, MAX_MINUTES)
        spin.setValue(value)
        spin.setSuffix(self.tr(" min"))
        return spin

    def set_channels(self, channels: Sequence[Choice]) -> None:
        """Offer the personal channels as fallbacks; the one chosen stays chosen if it is still there."""
        current = self.fallback_box.currentData()
        self.fallback_box.clear()
        self.fallback_box.addItem(self.tr("— no fallback channel —"), None)
        for channel in channels:
            if channel.kind in PERSONAL_KINDS:
                self.fallback_box.addItem(channel.label, channel.key)
        self.fallback_box.setCurrentIndex(max(self.fallback_box.findData(current), 0))

    def choose_fallback(self, name: str | None) -> None:
        self.fallback_box.setCurrentIndex(max(self.fallback_box.findData(name), 0))

    def scheduled_at(self) -> dt.datetime | None:
        """The chosen time (aware, UTC), or None to send now."""
        if not self.later_box.isChecked():
            return None
        return dt.datetime.fromtimestamp(self.send_at.dateTime().toSecsSinceEpoch(), dt.UTC)

    def fields(self) -> dict[str, Any]:
        """The BroadcastRequest fields these settings stand for."""
        reminding = self.remind_box.isChecked()
        return {
            "scheduled_at": self.scheduled_at(),
            "remind_every_s": self.remind_minutes.value() * 60 if reminding else None,
            "remind_max": self.remind_max.value() if reminding else None,
            "fallback_channel": self.fallback_box.currentData() if reminding else None,
            "escalate_after_s": self.escalate_minutes.value() * 60 if self.escalate_box.isChecked() else None,
        }

    def after_send(self) -> None:
        """A sent broadcast's time does not carry over to the next one."""
        self.later_box.setChecked(False)

