"""Dialogs of the directory: a contact (with its groups) and a group name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QListView, QWidget

from console.gui.widgets import FormDialog
from console.services.directory import ALL_GROUP, ContactRow

Index = QModelIndex | QPersistentModelIndex


class CheckListModel(QAbstractListModel):
    """Names with a check box each (the groups a contact belongs to)."""

    def __init__(self, names: list[str], checked: set[str], parent: Any = None) -> None:
        super().__init__(parent)
        self._names = names
        self._checked = set(checked) & set(names)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._names)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._names):
            return None
        name = self._names[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return name
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if name in self._checked else Qt.CheckState.Unchecked
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or not index.isValid():
            return False
        name = self._names[index.row()]
        state = value if isinstance(value, Qt.CheckState) else Qt.CheckState(value)
        if state == Qt.CheckState.Checked:
            self._checked.add(name)
        else:
            self._checked.discard(name)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable

    def checked(self) -> list[str]:
        return [n for n in self._names if n in self._checked]

    def set_checked(self, name: str, on: bool) -> None:
        row = self._names.index(name)
        self.setData(self.index(row), Qt.CheckState.Checked if on else Qt.CheckState.Unchecked,
                     Qt.ItemDataRole.CheckStateRole)


@dataclass(frozen=True)
class ContactDraft:
    name: str
    email: str
    phone: str
    groups: list[str]
    contact_id: int | None


class ContactDialog(FormDialog):
    """Add or edit one contact; every contact is in 'all', so only the other groups are offered.

    Signals:
        submitted(): inherited; read draft() and save it.
    """

    def __init__(self, groups: list[str], contact: ContactRow | None = None, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Edit contact") if contact else self.tr("Add contact"), parent)
        self._contact_id = contact.id if contact else None
        self.name = QLineEdit(contact.name if contact else "")
        self.name.setPlaceholderText(self.tr("Full name"))
        self.email = QLineEdit(contact.email if contact else "")
        self.email.setPlaceholderText(self.tr("name@example.org"))
        self.phone = QLineEdit((contact.phone or "") if contact else "")
        self.phone.setPlaceholderText(self.tr("+44 20 7946 0000 (optional)"))
        choices = [g for g in groups if g != ALL_GROUP]
        self.groups = CheckListModel(choices, set(contact.groups) if contact else set(), self)
        self.group_list = QListView()
        self.group_list.setObjectName("groupChecklist")
        self.group_list.setModel(self.groups)
        self.group_list.setUniformItemSizes(True)
        self.group_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.group_list.setMinimumHeight(150)
        self.form.addRow(self.tr("Name"), self.name)
        self.form.addRow(self.tr("Email"), self.email)
        self.form.addRow(self.tr("Phone"), self.phone)
        self.form.addRow(self.tr("Groups"), self.group_list)
        self.name.setFocus()

    def draft(self) -> ContactDraft:
        return ContactDraft(self.name.text(), self.email.text(), self.phone.text(), self.groups.checked(),
                            self._contact_id)


class GroupDialog(FormDialog):
    """Name a new group or rename one."""

    def __init__(self, current: str | None = None, group_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Rename group") if current else self.tr("Add group"), parent)
        self.group_id = group_id
        self.name = QLineEdit(current or "")
        self.name.setPlaceholderText(self.tr("e.g. Site: Leeds, IT on-call"))
        self.form.addRow(self.tr("Name"), self.name)
        self.name.setFocus()
