"""Choosing who and how for the compose view: checkable lists and the live audience count.

`load_choices` and `count_audience` are plain Python for workers; the models
only hold what they computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
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
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from console import settings
from console.broadcast.audience import resolve
from console.broadcast.errors import BroadcastError
from console.channelstore import list_channels
from console.directory.service import list_contacts, list_groups
from console.storage import Database
from console.templates import TemplateRow, list_templates

SEARCH_ROLE = Qt.ItemDataRole.UserRole
KEY_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Choice:
    """One line of a checkable list: what it stands for, its label, a detail, its search text."""

    key: Any
    label: str
    detail: str
    search: str
    kind: str = ""


@dataclass(frozen=True)
class ComposeChoices:
    groups: list[Choice]
    contacts: list[Choice]
    channels: list[Choice]
    templates: list[TemplateRow]
    public_url: str
    org_name: str


@dataclass(frozen=True)
class AudienceCount:
    """Who the chosen groups, people and channels reach (a dry run of the audience)."""

    key: tuple[object, ...]
    recipients: int = 0
    unreachable: list[dict[str, str]] = field(default_factory=list)
    group_posts: int = 0
    deliveries: int = 0
    problem: str | None = None


def load_choices(db: Database) -> ComposeChoices:
    """Groups, contacts, enabled channels, templates and the settings previews need."""
    with db.read() as session:
        groups = [Choice(g.name, g.name, str(g.members), g.name.casefold()) for g in list_groups(session)]
        contacts = [Choice(c.id, c.name, c.email, f"{c.name} {c.email} {' '.join(c.groups)}".casefold())
                    for c in list_contacts(session)]
        channels = [Choice(c.name, c.name, c.kind + (f" · {c.group}" if c.group else ""), c.name.casefold(), c.kind)
                    for c in list_channels(session) if c.enabled]
        templates = list_templates(session)
        values = settings.get_all(session)
    return ComposeChoices(groups, contacts, channels, templates, values["ack.public_url"], values["org.name"])


def count_audience(db: Database, groups: list[str], contact_ids: list[int], channels: list[str]) -> AudienceCount:
    """Resolve the audience exactly as sending would, and count it."""
    key = (tuple(groups), tuple(contact_ids), tuple(channels))
    try:
        with db.read() as session:
            audience = resolve(session, groups, contact_ids, channels)
    except BroadcastError as exc:
        return AudienceCount(key, problem=str(exc))
    return AudienceCount(key, len(audience.people), list(audience.unreachable), len(audience.group_posts),
                         audience.deliveries)


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


def choice_table(model: ChoiceModel | ChoiceFilter) -> QTableView:
    """A compact table for a checkable list."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(22)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    table.setWordWrap(False)
    return table
