"""Every person of an incident, one row each (console.services.incidents.PersonRow), and its filters.

The rows come sorted from the service (needs help first, open before handled,
then unreachable, no answer, safe); a click on a header sorts by that column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QBrush, QColor

from console.gui.models.table import FilterProxy, RowTableModel
from console.services.incidents import PersonRow
from console.vocabulary import AnswerSource, HelpState, PersonStatus

_RANK = {PersonStatus.NEEDS_HELP: 0, PersonStatus.UNREACHABLE: 2, PersonStatus.NO_ANSWER: 3, PersonStatus.SAFE: 4}


def status_rank(row: PersonRow) -> int:
    """Needs help (open) 0, handled 1, unreachable 2, no answer 3, safe 4."""
    return _RANK[row.status] + (1 if row.status is PersonStatus.NEEDS_HELP and not row.help_open else 0)


def _when(value: dt.datetime | None) -> str:
    return value.astimezone().strftime("%H:%M:%S") if value is not None else ""


class IncidentPeopleModel(RowTableModel):
    """Read-only rows of PersonRow; `message_titles` names the message an answer came on."""

    NAME, STATUS, NOTE, ANSWER, WHEN, MESSAGE, SOURCE, PHONE, EMAIL, DELIVERY = range(10)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.incident_id: int | None = None
        self.message_titles: dict[int, str] = {}
        self._status = {PersonStatus.SAFE: self.tr("safe"), PersonStatus.NO_ANSWER: self.tr("no answer"),
                        PersonStatus.UNREACHABLE: self.tr("unreachable")}
        self._open, self._handled = self.tr("needs help"), self.tr("help handled")
        self._sources = {AnswerSource.PERSONAL: self.tr("own link"), AnswerSource.GROUP: self.tr("self-report")}
        self._red = QBrush(QColor("#c62828"))

    def headers(self) -> list[str]:
        return [self.tr("Name"), self.tr("Status"), self.tr("Note"), self.tr("Latest answer"), self.tr("When"),
                self.tr("On message"), self.tr("Source"), self.tr("Phone"), self.tr("Email"), self.tr("Delivery")]

    def status_text(self, row: PersonRow) -> str:
        if row.status is PersonStatus.NEEDS_HELP:
            return self._open if row.help_open else self._handled
        return self._status[row.status]

    def display(self, row: PersonRow, column: int) -> str:
        if column == self.NAME:
            return row.name
        if column == self.STATUS:
            return self.status_text(row)
        if column == self.ANSWER:
            return (row.answer or "") + (self.tr(" (late)") if row.late else "")
        if column == self.WHEN:
            return _when(row.answered_at)
        if column == self.MESSAGE:
            return self.message_titles.get(row.broadcast_id, "") if row.broadcast_id is not None else ""
        if column == self.SOURCE:
            return self._sources.get(row.source, str(row.source)) if row.source is not None else ""
        if column == self.NOTE:
            handled = row.help.handled_note if row.help is not None and row.help.state is HelpState.HANDLED else None
            return (row.note or "") + (self.tr(" — handled: {note}").format(note=handled) if handled else "")
        if column == self.PHONE:
            return row.phone or ""
        if column == self.EMAIL:
            return row.email
        return ", ".join(f"{c.channel}: {c.state.value}" for c in row.channels)

    @classmethod
    def key_function(cls, column: int) -> Callable[[Any], Any] | None:
        if column == cls.STATUS:
            return lambda r: (status_rank(r), r.name.casefold())
        if column == cls.WHEN:
            return lambda r: r.answered_at.timestamp() if r.answered_at is not None else 0.0
        return None

    def tooltip(self, row: PersonRow, column: int) -> str | None:
        if column == self.NOTE and row.help is not None and row.help.handled_by:
            return self.tr("Handled by {who}: {note}").format(who=row.help.handled_by, note=row.help.handled_note or "")
        if column == self.NOTE and row.note:
            return row.note
        return None

    def foreground(self, row: PersonRow, column: int) -> Any:
        return self._red if column == self.STATUS and row.help_open else None

    def find_email(self, email: str) -> int:
        return self.find(lambda r: r.email == email)


class IncidentPeopleFilter(FilterProxy):
    """Shows everyone, or the people of one status; "Needs help (open)" leaves out handled requests,
    which "Help handled" shows (whatever the person answered since)."""

    MODES = ("all", "needs_help", "handled", "no_answer", "unreachable", "safe")
    _PREDICATES: dict[str, Callable[[PersonRow], bool]] = {
        "needs_help": lambda r: r.help_open,
        "handled": lambda r: r.help is not None and r.help.state is HelpState.HANDLED,
        "no_answer": lambda r: r.status is PersonStatus.NO_ANSWER,
        "unreachable": lambda r: r.status is PersonStatus.UNREACHABLE,
        "safe": lambda r: r.status is PersonStatus.SAFE,
    }

    def __init__(self, source: IncidentPeopleModel, parent: QObject | None = None) -> None:
        super().__init__(source, parent)
        self.mode = "all"

    def set_mode(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(f"unknown filter {mode!r}")
        self.mode = mode
        self.set_predicate(self._PREDICATES.get(mode))

    def person_at(self, proxy_row: int) -> PersonRow:
        row: PersonRow = self.row_at(proxy_row)
        return row
