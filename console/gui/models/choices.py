"""Checkable lists for the compose page (groups, people, channels) and their search filter.

The rows are console.services.audience.Choice values read by a worker; the
model only holds them and what is checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)

from console.services.audience import Choice

SEARCH_ROLE = Qt.ItemDataRole.UserRole
KEY_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


class ChoiceModel(QAbstractTableModel):
    """A checkable list (label, detail) that keeps what is checked across reloads.

    Signals:
        checked_changed(): the set of checked keys changed.
    """

    checked_changed = Signal()

    def __init__(self, headers: tuple[str, str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._headers = headers
        self._choices: list[Choice] = []
        self._checked: set[Any] = set()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._choices)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsUserCheckable if index.column() == 0 else base

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        choice = self._choices[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return choice.label if index.column() == 0 else choice.detail
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            return Qt.CheckState.Checked if choice.key in self._checked else Qt.CheckState.Unchecked
        if role == SEARCH_ROLE:
            return choice.search
        if role == KEY_ROLE:
            return choice.key
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        key = self._choices[index.row()].key
        on = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        if on == (key in self._checked):
            return True
        if on:
            self._checked.add(key)
        else:
            self._checked.discard(key)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        self.checked_changed.emit()
        return True

    def set_choices(self, choices: list[Choice], default_checked: bool = False) -> None:
        """New rows; keys checked before stay checked (new keys checked when default_checked)."""
        before = {c.key for c in self._choices}
        keys = {c.key for c in choices}
        checked = (self._checked & keys) | ({k for k in keys - before} if default_checked else set())
        self.beginResetModel()
        self._choices = list(choices)
        changed = checked != self._checked
        self._checked = checked
        self.endResetModel()
        if changed:
            self.checked_changed.emit()

    def choices(self) -> list[Choice]:
        return list(self._choices)

    def checked(self) -> list[Any]:
        """Checked keys in list order."""
        return [c.key for c in self._choices if c.key in self._checked]

    def checked_choices(self) -> list[Choice]:
        return [c for c in self._choices if c.key in self._checked]

    def set_checked(self, keys: Iterable[Any], only: bool = True) -> None:
        """Check these keys (and, with only, uncheck every other)."""
        wanted = set(keys) & {c.key for c in self._choices}
        checked = wanted if only else self._checked | wanted
        if checked == self._checked:
            return
        self._checked = checked
        if self._choices:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._choices) - 1, 0),
                                  [Qt.ItemDataRole.CheckStateRole])
        self.checked_changed.emit()


class ChoiceFilter(QSortFilterProxyModel):
    """Case-insensitive search over a ChoiceModel's search text (matched in C++)."""

    def __init__(self, source: ChoiceModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.setFilterRole(SEARCH_ROLE)
        self.setFilterKeyColumn(0)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def set_text(self, text: str) -> None:
        self.setFilterFixedString(text.strip())
