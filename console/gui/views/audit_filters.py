"""The audit view's filter fields: time, actor, action, text, incident, broadcast and person.

The fields only describe a console.audit.search.AuditFilter; the view runs the query.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QDateTime, Signal
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import QComboBox, QDateTimeEdit, QGridLayout, QLabel, QLineEdit, QPushButton, QWidget

from console.gui import resources
from console.services.audit import AuditFilter
from console.services.incidents import IncidentSummary

_ANY = QDateTime.fromString("2000-01-01T00:00:00", "yyyy-MM-ddTHH:mm:ss")
_LEADING_NUMBER = re.compile(r"\s*#?\s*(\d+)\b")


class AuditFilterBar(QWidget):
    """Two rows of filter fields with Apply and Clear.

    Signals:
        apply_requested(): Apply pressed, or Return in a text field.
        clear_requested(): Clear pressed.
    """

    apply_requested = Signal()
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(6)
        self.since = self._time_edit()
        self.until = self._time_edit()
        self.actor_edit = QLineEdit()
        self.actor_edit.setPlaceholderText(self.tr("Anyone"))
        self.action_edit = self._combo(self.tr("Any action"))
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText(self.tr("e.g. broadcast 7, an email address"))
        self.incident_edit = self._combo(self.tr("Any incident"))
        # Long incident titles widen the list, not the field (and with it the whole grid).
        self.incident_edit.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.incident_edit.setMinimumContentsLength(12)
        self.incident_edit.setMaxVisibleItems(20)
        self.broadcast_edit = QLineEdit()
        self.broadcast_edit.setValidator(QIntValidator(1, 2_147_483_647, self.broadcast_edit))
        self.broadcast_edit.setPlaceholderText(self.tr("Any broadcast"))
        self.person_edit = QLineEdit()
        self.person_edit.setPlaceholderText(self.tr("Email, phone or full name"))
        self.person_edit.setToolTip(self.tr(
            "Entries by or about this person: their answers, deliveries to them, help requests, "
            "directory changes. Whole address or name, any case."))
        self.apply_button = QPushButton(resources.icon("search"), self.tr("Apply"))
        self.clear_button = QPushButton(self.tr("Clear"))
        rows = (  # (label, field, first column, columns spanned)
            ((self.tr("From"), self.since, 0, 1), (self.tr("To"), self.until, 1, 1),
             (self.tr("Actor"), self.actor_edit, 2, 1), (self.tr("Action"), self.action_edit, 3, 1),
             (self.tr("Subject or details"), self.text_edit, 4, 1)),
            ((self.tr("Incident"), self.incident_edit, 0, 2), (self.tr("Broadcast"), self.broadcast_edit, 2, 1),
             (self.tr("Person"), self.person_edit, 3, 2)),
        )
        for number, fields in enumerate(rows):
            for text, field, column, span in fields:
                label = QLabel(text)
                label.setObjectName("fieldLabel")
                grid.addWidget(label, number * 2, column, 1, span)
                grid.addWidget(field, number * 2 + 1, column, 1, span)
        grid.addWidget(self.apply_button, 3, 5)
        grid.addWidget(self.clear_button, 3, 6)
        grid.setColumnStretch(4, 1)

        self.apply_button.clicked.connect(self.apply_requested)
        self.clear_button.clicked.connect(self.clear_requested)
        for edit in (self.actor_edit, self.text_edit, self.action_edit.lineEdit(), self.incident_edit.lineEdit(),
                     self.broadcast_edit, self.person_edit):
            if edit is not None:
                edit.returnPressed.connect(self.apply_requested)

    def _time_edit(self) -> QDateTimeEdit:
        edit = QDateTimeEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        edit.setMinimumDateTime(_ANY)
        edit.setSpecialValueText(self.tr("Any time"))
        edit.setDateTime(_ANY)
        edit.setMinimumWidth(130)
        return edit

    @staticmethod
    def _combo(placeholder: str) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)
        combo.setMinimumWidth(130)
        line = combo.lineEdit()
        assert line is not None  # editable combo box
        line.setPlaceholderText(placeholder)
        return combo

    def current_filter(self) -> AuditFilter:
        """The filter the fields describe; ValueError names a field that holds no valid choice."""
        def moment(edit: QDateTimeEdit) -> object:
            return None if edit.dateTime() == edit.minimumDateTime() else edit.dateTime().toPython()

        since, until = moment(self.since), moment(self.until)
        broadcast = self.broadcast_edit.text().strip()
        return AuditFilter(
            since=since.astimezone() if since is not None else None,  # type: ignore[attr-defined]
            until=until.astimezone() if until is not None else None,  # type: ignore[attr-defined]
            actor=self.actor_edit.text(), action=self.action_edit.currentText(), text=self.text_edit.text(),
            incident_id=self._incident_choice(), broadcast_id=int(broadcast) if broadcast else None,
            person=self.person_edit.text())

    def _incident_choice(self) -> int | None:
        text = self.incident_edit.currentText().strip()
        found = _LEADING_NUMBER.match(text)
        if text and found is None:
            raise ValueError(self.tr("Incident: “%1” is not an incident number; type one or choose one from "
                                     "the list").replace("%1", text))
        return int(found.group(1)) if found else None

    def set_fields(self, *, incident_id: int | None = None, broadcast_id: int | None = None,
                   person: str = "") -> None:
        """Every field empty but these (an incident listed is shown by its title)."""
        for edit in (self.since, self.until):
            edit.setDateTime(_ANY)
        for line in (self.actor_edit, self.text_edit):
            line.clear()
        self.action_edit.setCurrentText("")
        listed = self.incident_edit.findData(incident_id) if incident_id is not None else -1
        self.incident_edit.setCurrentText(self.incident_edit.itemText(listed) if listed > 0
                                          else str(incident_id) if incident_id is not None else "")
        if (typed := self.incident_edit.lineEdit()) is not None:
            typed.setCursorPosition(0)  # the number and the title's start, not its end
        self.broadcast_edit.setText(str(broadcast_id) if broadcast_id is not None else "")
        self.person_edit.setText(person)

    def set_actions(self, known: list[str]) -> None:
        """The action list's choices, keeping what is typed."""
        _refill(self.action_edit, [("", None), *((a, None) for a in known)])

    def set_incidents(self, found: list[IncidentSummary]) -> None:
        """The incident list's choices (newest first, by number and title), keeping what is typed."""
        exercise = self.tr(" (exercise)")
        _refill(self.incident_edit, [("", None), *((f"{i.id} · {i.title}{exercise if i.exercise else ''}", i.id)
                                                   for i in found)])

    def focus(self) -> None:
        self.text_edit.setFocus()
        self.text_edit.selectAll()


def _refill(combo: QComboBox, items: list[tuple[str, int | None]]) -> None:
    typed = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    combo.setCurrentText(typed)
    combo.blockSignals(False)
