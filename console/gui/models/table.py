"""A flat table model over a list of plain rows, and the filter that goes with it.

Built for 100,000 rows: the rows are immutable values prepared off the GUI
thread, search text is computed once per row (also off the GUI thread),
sorting is a Python sort of the list (Qt's proxy sorting would call back into
Python for every comparison), and filtering checks the precomputed text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt

Index = QModelIndex | QPersistentModelIndex
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
"""data(index, ROW_ROLE) gives the whole row object."""


class RowTableModel(QAbstractTableModel):
    """Read-only rows, one per line; subclasses say how a row is shown."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []
        self._hay: list[str] = []
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._sorted = True
        self._headers = self.headers()
        self.version = 0
        """Bumped whenever rows change or move, so a filter knows its cache is stale."""

    # -- what subclasses define ------------------------------------------------------
    def headers(self) -> list[str]:
        raise NotImplementedError

    def display(self, row: Any, column: int) -> str:
        raise NotImplementedError

    @classmethod
    def search_text(cls, row: Any) -> str:
        """Lower-case text the filter box searches; pure Python, safe in a worker."""
        return " ".join(str(v) for v in getattr(row, "__dict__", {}).values() if v is not None).lower()

    def sort_key(self, row: Any, column: int) -> Any:
        return self.display(row, column).casefold()

    @classmethod
    def key_function(cls, column: int) -> Callable[[Any], Any] | None:
        """A pure sort key for a column (usable in a worker), or None to use sort_key()."""
        return None

    def decoration(self, row: Any, column: int) -> Any:
        return None

    def tooltip(self, row: Any, column: int) -> str | None:
        return None

    def foreground(self, row: Any, column: int) -> Any:
        return None

    def alignment(self, column: int) -> Qt.AlignmentFlag | None:
        return None

    # -- rows -------------------------------------------------------------------------
    @classmethod
    def haystacks(cls, rows: Sequence[Any]) -> list[str]:
        return [cls.search_text(r) for r in rows]

    @classmethod
    def prepare(cls, rows: list[Any], sort: tuple[int, Qt.SortOrder] | None) -> tuple[list[Any], list[str], bool]:
        """Worker side: search texts, and the rows already sorted when the column has a pure key.

        Returns (rows, haystacks, sorted) for set_rows(rows, haystacks, presorted=sorted).
        """
        key = cls.key_function(sort[0]) if sort is not None else None
        if sort is not None and key is not None:
            rows = sorted(rows, key=key, reverse=sort[1] == Qt.SortOrder.DescendingOrder)
        return rows, cls.haystacks(rows), key is not None

    @property
    def sort_spec(self) -> tuple[int, Qt.SortOrder] | None:
        return self._sort

    def set_rows(self, rows: Sequence[Any], haystacks: list[str] | None = None, *, presorted: bool = False) -> None:
        """Replace every row (haystacks and the sort may be done by the worker that loaded them)."""
        hay = haystacks if haystacks is not None else self.haystacks(rows)
        self.beginResetModel()
        self._rows, self._hay = list(rows), list(hay)
        if self._sort is not None and not presorted:
            self._apply_sort(*self._sort)
        self._sorted = True
        self.version += 1
        self.endResetModel()

    def append_rows(self, rows: Sequence[Any]) -> None:
        if not rows:
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self._rows.extend(rows)
        self._hay.extend(self.haystacks(rows))
        self._sorted = False
        self.version += 1
        self.endInsertRows()

    def haystack_list(self) -> list[str]:
        return self._hay

    def rows(self) -> list[Any]:
        return list(self._rows)

    def row(self, number: int) -> Any:
        return self._rows[number]

    def haystack(self, number: int) -> str:
        return self._hay[number]

    def find(self, predicate: Callable[[Any], bool]) -> int:
        """Row number of the first row that matches, or -1."""
        return next((i for i, r in enumerate(self._rows) if predicate(r)), -1)

    # -- Qt model interface ---------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, column)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.decoration(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.foreground(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            flag = self.alignment(column)
            return None if flag is None else int(flag | Qt.AlignmentFlag.AlignVCenter)
        if role == ROW_ROLE:
            return row
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section] if 0 <= section < len(self._headers) else None
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < self.columnCount():
            return
        if self._sort == (column, order) and self._sorted:
            return  # the view asks twice (sortByColumn and the header's indicator)
        self._sort = (column, order)
        self._sorted = True
        self.layoutAboutToBeChanged.emit()
        old_rows = self._apply_sort(column, order)
        persistent = self.persistentIndexList()
        if persistent:
            new_of = {old: new for new, old in enumerate(old_rows)}
            self.changePersistentIndexList(
                persistent, [self.index(new_of[p.row()], p.column()) for p in persistent])
        self.layoutChanged.emit()

    def _apply_sort(self, column: int, order: Qt.SortOrder) -> list[int]:
        """Sort in place; returns, for each new position, the old row number."""
        key = self.key_function(column)
        keys = [key(r) for r in self._rows] if key is not None else [self.sort_key(r, column) for r in self._rows]
        order_of = sorted(range(len(self._rows)), key=keys.__getitem__,
                          reverse=order == Qt.SortOrder.DescendingOrder)
        self._rows = [self._rows[i] for i in order_of]
        self._hay = [self._hay[i] for i in order_of]
        self.version += 1
        return order_of


class FilterProxy(QSortFilterProxyModel):
    """Filters a RowTableModel by words typed in a filter box (all must match) and an optional predicate.

    What passes is computed for all rows at once in Python (list comprehensions
    over the precomputed search texts) and cached until the source's `version`
    changes; filterAcceptsRow is then a list look-up. Sorting is handed to the
    source model, which sorts its list in Python.
    """

    def __init__(self, source: RowTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._words: list[str] = []
        self._predicate: Callable[[Any], bool] | None = None
        self._accepted: list[bool] | None = None
        self._version = -1
        self.setSourceModel(source)

    def set_text(self, text: str) -> None:
        words = text.casefold().split()
        if words == self._words:
            return
        self.beginFilterChange()
        self._words = words
        self._version = -1
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_predicate(self, predicate: Callable[[Any], bool] | None) -> None:
        self.beginFilterChange()
        self._predicate = predicate
        self._version = -1
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _compute(self) -> list[bool] | None:
        if not self._words and self._predicate is None:
            return None
        hay = self._source.haystack_list()
        accepted = [True] * len(hay)
        for word in self._words:
            accepted = [ok and word in h for ok, h in zip(accepted, hay, strict=True)]
        if self._predicate is not None:
            predicate, rows = self._predicate, self._source.rows()
            accepted = [ok and predicate(r) for ok, r in zip(accepted, rows, strict=True)]
        return accepted

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self._version != self._source.version:
            self._accepted = self._compute()
            self._version = self._source.version
        return self._accepted is None or self._accepted[source_row]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._source.sort(column, order)

    def row_at(self, proxy_row: int) -> Any:
        return self._source.row(self.mapToSource(self.index(proxy_row, 0)).row())
