"""The audit log as a table that fetches more pages as the view scrolls."""

from __future__ import annotations

import datetime as dt
import json

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal

from console.audit.chain import CANON_JCS, CANON_LEGACY
from console.gui.models.table import RowTableModel
from console.services.audit import AuditRow

Index = QModelIndex | QPersistentModelIndex


def details_summary(text: str) -> str:
    """Canonical JSON details as `key: value · key: value` for a table cell (the tooltip keeps the JSON)."""
    try:
        details = json.loads(text)
    except ValueError:
        return text
    if not isinstance(details, dict):
        return text

    def value(v: object) -> str:
        if isinstance(v, list):
            return ", ".join(str(i) for i in v[:5]) + (f" … (+{len(v) - 5})" if len(v) > 5 else "")
        return "—" if v is None else str(v)

    return " · ".join(f"{k}: {value(v)}" for k, v in details.items())


class _Number(str):
    """A number as the stored text spells it."""


class _Members(list[tuple[str, object]]):
    """An object's members in stored order, duplicates kept."""


def pretty_details(text: str) -> tuple[str, bool]:
    """Stored details indented for reading, and whether they parsed as JSON (else the text as stored).

    Numbers keep their stored spelling, members their stored order and duplicate keys stay
    visible, so what is shown is what was hashed, only indented.
    """
    try:
        value = json.loads(text, object_pairs_hook=_Members, parse_float=_Number, parse_int=_Number,
                           parse_constant=_Number)
    except ValueError:
        return text, False
    return _indented(value, ""), True


def _indented(value: object, indent: str) -> str:
    inner = indent + "  "
    if isinstance(value, _Members):
        if not value:
            return "{}"
        members = (f"{inner}{json.dumps(k, ensure_ascii=False)}: {_indented(v, inner)}" for k, v in value)
        return "{\n" + ",\n".join(members) + f"\n{indent}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + _indented(v, inner) for v in value) + f"\n{indent}]"
    if isinstance(value, _Number):
        return str.__str__(value)
    return json.dumps(value, ensure_ascii=False)


def canon_name(canon: int) -> str:
    """The entry's canonical form in words (console.audit.chain)."""
    if canon == CANON_JCS:
        return "RFC 8785 (JCS)"
    if canon == CANON_LEGACY:
        return "legacy (sorted keys, before RFC 8785)"
    return f"unknown ({canon})"


def local_time(text: str) -> str:
    """The log's UTC text as local time, to the second."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class AuditModel(RowTableModel):
    """Audit entries newest first, in the order the query returns them (no client sort).

    Signals:
        more_wanted(int): the view scrolled to the end; load the page before this seq.
    """

    more_wanted = Signal(int)
    SEQ, TIME, ACTOR, ACTION, SUBJECT, DETAILS = range(6)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._complete = True
        self._loading = False

    def headers(self) -> list[str]:
        return [self.tr("Seq"), self.tr("Time"), self.tr("Actor"), self.tr("Action"), self.tr("Subject"),
                self.tr("Details")]

    def display(self, row: AuditRow, column: int) -> str:
        if column == self.SEQ:
            return str(row.seq)
        if column == self.TIME:
            return local_time(row.time)
        if column == self.DETAILS:
            return details_summary(row.details)
        return str((row.actor, row.action, row.subject)[column - self.ACTOR])

    def tooltip(self, row: AuditRow, column: int) -> str | None:
        if column == self.TIME:
            return row.time
        return row.details if column == self.DETAILS else None

    def alignment(self, column: int) -> Qt.AlignmentFlag | None:
        return Qt.AlignmentFlag.AlignRight if column == self.SEQ else None

    @classmethod
    def search_text(cls, row: AuditRow) -> str:
        return ""

    # -- paging ---------------------------------------------------------------------
    def start(self, rows: list[AuditRow], complete: bool) -> None:
        """The first page of a new query."""
        self._complete, self._loading = complete, False
        self.set_rows(rows, [""] * len(rows))

    def add_page(self, rows: list[AuditRow], complete: bool) -> None:
        self._complete, self._loading = complete, False
        self.append_rows(rows)

    def page_failed(self) -> None:
        self._loading = False
        self._complete = True

    @property
    def complete(self) -> bool:
        return self._complete

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._complete and not self._loading and bool(self._rows)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._loading = True
            self.more_wanted.emit(self._rows[-1].seq)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """The log keeps its own order (newest first)."""
