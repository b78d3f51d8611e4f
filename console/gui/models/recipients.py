"""The live recipients of one broadcast: a table model and its filter proxy.

Rows are loaded and compared in a worker (console.services.live);
the model only takes whole snapshots on a new broadcast and changed rows
(`dataChanged` over just those rows) while deliveries and answers arrive.
Sorting is a Python sort of the model's own list, as in console.gui.models.
table: a proxy sorting 10,000 rows would call back into Python for every
comparison.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from console.services.live import PersonDelivery, RecipientRow

FILTER_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2

_Index = QModelIndex | QPersistentModelIndex
_WARN = QBrush(QColor("#b3261e"))
_MERGE_GAP = 16
"""Changed rows closer than this are reported as one range: fewer signals, same repaint."""
_FILTER_TAG = {"all": "", "no_answer": "noanswer", "needs_help": "needshelp", "failed": "failed"}
_STATE_ORDER = {PersonDelivery.FAILED: 0, PersonDelivery.RETRYING: 1, PersonDelivery.PENDING: 2,
                PersonDelivery.SENDING: 3, PersonDelivery.SENT: 4, PersonDelivery.CANCELLED: 5, PersonDelivery.NONE: 6}


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone()
    if local.date() == dt.datetime.now().astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def _role_data(span: QModelRoleDataSpan | QModelRoleData) -> Iterable[QModelRoleData]:
    """The roles asked for (PySide's span is iterable; its stubs do not say so)."""
    return [span] if isinstance(span, QModelRoleData) else span  # type: ignore[return-value]


SortSpec = tuple[int, Qt.SortOrder] | None


def _key(column: int) -> Callable[[RecipientRow], Any]:
    if column == RecipientsModel.STATE:
        return lambda r: (_STATE_ORDER.get(r.state, 9), r.id)
    if column == RecipientsModel.ANSWERED_AT:
        return lambda r: (r.answered_at is None, r.answered_at.timestamp() if r.answered_at else 0.0, r.id)
    field = ("name", "email", "state", "error", "answer")[column]
    return lambda r: (getattr(r, field).casefold(), r.id)


def sort_rows(rows: Iterable[RecipientRow], by: SortSpec) -> list[RecipientRow]:
    """Rows in the table's order (plain Python: a worker may do it)."""
    if by is None:
        return sorted(rows, key=lambda r: r.id)
    column, order = by
    return sorted(rows, key=_key(column), reverse=order == Qt.SortOrder.DescendingOrder)


class SortedRows(NamedTuple):
    """Rows sorted for the table, with its look-up tables; made off the GUI thread."""

    rows: list[RecipientRow]
    by_id: dict[int, RecipientRow]
    pos: dict[int, int]
    by: SortSpec

    @classmethod
    def of(cls, rows: Iterable[RecipientRow], by: SortSpec) -> SortedRows:
        ordered = sort_rows(rows, by)
        return cls(ordered, {r.id: r for r in ordered}, {r.id: i for i, r in enumerate(ordered)}, by)


def filter_tags(row: RecipientRow) -> str:
    answer = "noanswer" if not row.answer else ("needshelp" if row.needs_help else "answered")
    return f"{answer} {row.state or 'none'}"


class RecipientsModel(QAbstractTableModel):
    """Recipients of the shown broadcast: name, email, delivery, last error, answer, answered at.

    Signals: only QAbstractItemModel's own (`modelReset` for another broadcast,
    `dataChanged` for rows that changed, `layoutChanged` when sorted again).
    """

    NAME, EMAIL, STATE, ERROR, ANSWER, ANSWERED_AT = range(6)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RecipientRow] = []
        self._by_id: dict[int, RecipientRow] = {}
        self._pos: dict[int, int] = {}
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self.broadcast_id: int | None = None
        self._headers = (self.tr("Name"), self.tr("Email"), self.tr("Delivery"), self.tr("Last error"),
                         self.tr("Answer"), self.tr("Answered at"))
        self._states = {PersonDelivery.SENT: self.tr("sent"), PersonDelivery.SENDING: self.tr("sending"),
                        PersonDelivery.PENDING: self.tr("pending"), PersonDelivery.RETRYING: self.tr("retrying"),
                        PersonDelivery.FAILED: self.tr("failed"), PersonDelivery.CANCELLED: self.tr("cancelled"),
                        PersonDelivery.NONE: self.tr("group post only")}
        self._self_report = self.tr("%1 (self-report)")

    # -- Qt model interface ------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        # One call into Python instead of two (hasIndex → rowCount and columnCount): the
        # proxy maps every cell it paints through here.
        if parent.isValid() or not (0 <= row < len(self._rows) and 0 <= column < len(self._headers)):
            return QModelIndex()
        return self.createIndex(row, column)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        return self.value(self._rows[index.row()], index.column(), role)

    def multiData(self, index: _Index, roleDataSpan: QModelRoleDataSpan | QModelRoleData) -> None:
        if index.isValid():
            self.fill(index.row(), index.column(), roleDataSpan)

    def fill(self, position: int, column: int, span: QModelRoleDataSpan | QModelRoleData) -> None:
        """Every role a delegate asks for, in one call from C++ (see RecipientsFilter.multiData)."""
        row = self._rows[position]
        for role_data in _role_data(span):
            value = self.value(row, column, role_data.role())
            if value is None:
                role_data.clearData()
            else:
                role_data.setData(value)

    def value(self, row: RecipientRow, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == FILTER_ROLE:
            return filter_tags(row)
        if role == Qt.ItemDataRole.ToolTipRole and col == self.ERROR and row.error:
            return row.error
        if role == Qt.ItemDataRole.ForegroundRole and (
                (col == self.STATE and row.state == PersonDelivery.FAILED) or (col == self.ANSWER and row.needs_help)):
            return _WARN
        if role == ID_ROLE:
            return row.id
        return None

    def _display(self, row: RecipientRow, col: int) -> str:
        if col == self.NAME:
            return row.name
        if col == self.EMAIL:
            return row.email
        if col == self.STATE:
            return self._states.get(row.state, row.state)
        if col == self.ERROR:
            return row.error
        if col == self.ANSWER:
            return self._self_report.replace("%1", row.answer) if row.self_report else row.answer
        return _when(row.answered_at)

    # -- sorting (of the list itself) ----------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order) if 0 <= column < len(self._headers) else None
        self._resort()

    @property
    def sort_spec(self) -> SortSpec:
        """The order rows are shown in: (column, order), or None for the order they were sent in."""
        return self._sort

    def _resort(self) -> None:
        new_rows = sort_rows(self._rows, self._sort)
        old_ids = [r.id for r in self._rows]
        if [r.id for r in new_rows] == old_ids:
            return
        self.layoutAboutToBeChanged.emit()
        self._rows = new_rows
        self._pos = {r.id: i for i, r in enumerate(new_rows)}
        persistent = self.persistentIndexList()
        if persistent:
            self.changePersistentIndexList(
                persistent, [self.index(self._pos[old_ids[p.row()]], p.column()) for p in persistent])
        self.layoutChanged.emit()

    # -- updates from workers ------------------------------------------------------------
    def snapshot(self) -> dict[int, RecipientRow]:
        """The rows shown, by id, for a worker to compare a fresh read against."""
        return self._by_id.copy()

    def rows(self) -> list[RecipientRow]:
        return list(self._rows)

    def row(self, position: int) -> RecipientRow:
        return self._rows[position]

    def set_rows(self, broadcast_id: int | None, rows: list[RecipientRow] | SortedRows) -> None:
        """Show another broadcast (or the same one after its set of people changed).

        `rows` may come sorted already (SortedRows, made by a worker): with 10,000 people
        the sort and the look-up tables are work the GUI thread then need not do.
        """
        if isinstance(rows, SortedRows):
            ready = rows if rows.by == self._sort else SortedRows.of(rows.rows, self._sort)
        else:
            ready = SortedRows.of(rows, self._sort)
        self.beginResetModel()
        self.broadcast_id = broadcast_id
        self._rows, self._by_id, self._pos = ready.rows, ready.by_id, ready.pos
        self.endResetModel()

    def apply(self, changed: list[RecipientRow]) -> None:
        """Replace changed rows in place, report them in few ranges, and sort again if their order moved."""
        if not changed:
            return
        positions = []
        for row in changed:
            position = self._pos[row.id]
            self._rows[position] = row
            self._by_id[row.id] = row
            positions.append(position)
        positions.sort()
        last_col = len(self._headers) - 1
        first = prev = positions[0]
        for position in positions[1:]:
            if position - prev > _MERGE_GAP:
                self.dataChanged.emit(self.index(first, 0), self.index(prev, last_col))
                first = position
            prev = position
        self.dataChanged.emit(self.index(first, 0), self.index(prev, last_col))
        if self._sort is not None:
            self._resort()


class RecipientsFilter(QSortFilterProxyModel):
    """Filters on a tag per row: all, no answer, needs help, failed; hands sorting to the model.

    The filter is a fixed string on FILTER_ROLE, so Qt does the matching in C++
    and an unfiltered table costs nothing per row when thousands change.
    """

    MODES = ("all", "no_answer", "needs_help", "failed")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterRole(FILTER_ROLE)
        self.setFilterKeyColumn(0)
        self.setDynamicSortFilter(True)
        self.mode = "all"

    def set_mode(self, mode: str) -> None:
        if mode not in _FILTER_TAG:
            raise ValueError(f"unknown recipients filter {mode!r}")
        self.mode = mode
        self.setFilterFixedString(_FILTER_TAG[mode])

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)

    def multiData(self, index: _Index, roleDataSpan: QModelRoleDataSpan | QModelRoleData) -> None:
        # Qt's proxy would ask the source once per role, each a call into Python; with
        # thousands of rows changing and other Python threads busy, each such call may
        # wait for the GIL. One call per painted cell keeps the GUI thread responsive.
        source = self.mapToSource(index)
        model = self.sourceModel()
        if source.isValid() and isinstance(model, RecipientsModel):
            model.fill(source.row(), source.column(), roleDataSpan)
        else:
            for role_data in _role_data(roleDataSpan):
                role_data.clearData()
