"""The groups side of the directory: a table with add, rename and remove ('all' is built in)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QTableView, QVBoxLayout, QWidget

from console.gui import resources
from console.gui.models.directory import GroupsModel
from console.gui.readonly import mark_writes
from console.gui.tasks import TaskRunner, describe
from console.gui.views.directory_dialogs import GroupDialog
from console.gui.widgets import set_columns, setup_table, toolbar_row
from console.services import directory
from console.services.directory import ALL_GROUP, GroupRef, GroupRow
from console.storage import Database


class GroupsPanel(QWidget):
    """Groups with member counts; selecting one narrows the contacts beside it.

    Signals:
        selection_changed(object): the selected GroupRow, or None.
        changed(str, list): a group was saved or removed: a message and the data kinds that changed.
        failed(str): a change was refused or failed; the text is for a person.
    """

    selection_changed = Signal(object)
    changed = Signal(str, list)
    failed = Signal(str)

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks = db, actor, tasks
        self.dialog: GroupDialog | None = None
        self.model = GroupsModel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        label = QLabel(self.tr("Groups"))
        label.setObjectName("sectionTitle")
        layout.addWidget(label)
        self.table = QTableView()
        self.table.setObjectName("groupsTable")
        self.table.setModel(self.model)
        setup_table(self.table, sortable=False)
        set_columns(self.table, {GroupsModel.MEMBERS: 84, GroupsModel.CHANNELS: 120}, GroupsModel.NAME)
        layout.addWidget(self.table, 1)
        self.add_button = QPushButton(resources.icon("add"), self.tr("Add"))
        self.rename_button = QPushButton(resources.icon("edit"), self.tr("Rename"))
        self.remove_button = QPushButton(resources.icon("remove"), self.tr("Remove"))
        mark_writes(self.add_button, self.rename_button, self.remove_button)
        layout.addLayout(toolbar_row(self.add_button, self.rename_button, self.remove_button))
        self.add_button.clicked.connect(self.add)
        self.rename_button.clicked.connect(self.rename)
        self.remove_button.clicked.connect(self.remove_selected)
        self.table.doubleClicked.connect(lambda _index: self.rename_button.click())  # no-op when Rename is off
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self._update_buttons()

    # -- rows and selection ---------------------------------------------------------------
    def set_rows(self, rows: list[GroupRow]) -> None:
        """New rows; the selected group stays selected if it still exists."""
        before = self.selected()
        self.model.set_rows(rows)
        if before is not None and not self.select(before.name):
            self.selection_changed.emit(None)
        self._update_buttons()

    def names(self) -> list[str]:
        return [g.name for g in self.model.rows()]

    def selected(self) -> GroupRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def select(self, name: str) -> bool:
        row = self.model.find(lambda g: g.name == name)
        if row >= 0:
            self.table.selectRow(row)
        return row >= 0

    def _selected(self, *_args: Any) -> None:
        self._update_buttons()
        self.selection_changed.emit(self.selected())

    def _update_buttons(self) -> None:
        group = self.selected()
        editable = group is not None and group.name != ALL_GROUP
        self.rename_button.setEnabled(editable)
        self.remove_button.setEnabled(editable)

    # -- changes ----------------------------------------------------------------------------
    def add(self) -> None:
        self._open(None)

    def rename(self) -> None:
        group = self.selected()
        if group is not None and group.name != ALL_GROUP:
            self._open(group)

    def _open(self, group: GroupRow | None) -> None:
        dialog = GroupDialog(group.name if group else None, group.id if group else None, self)
        dialog.submitted.connect(lambda: self._save(dialog))
        self.dialog = dialog
        dialog.open()

    def _save(self, dialog: GroupDialog) -> None:
        name, group_id = dialog.name.text(), dialog.group_id

        def work() -> GroupRef:
            return directory.save_group(self.db, self.actor, name, group_id)

        def done(saved: GroupRef) -> None:
            dialog.accept()
            self.changed.emit(self.tr("Saved group %1").replace("%1", saved.name), ["groups", "contacts"])

        self.tasks.run(work, done, lambda exc: dialog.show_error(describe(exc)))

    def remove_selected(self) -> None:
        group = self.selected()
        if group is None:
            return
        if group.name == ALL_GROUP:
            self.failed.emit(self.tr("The built-in group 'all' cannot be removed."))
            return
        answer = QMessageBox.question(
            self, self.tr("Remove group"),
            self.tr("Remove the group %1? Its %2 members stay in the directory; its group channels go with it.")
            .replace("%1", group.name).replace("%2", f"{group.members:,}"))
        if answer != QMessageBox.StandardButton.Yes:
            return

        def work() -> None:
            directory.remove_group(self.db, self.actor, group.id)

        self.table.clearSelection()
        self.tasks.run(work, lambda _: self.changed.emit(self.tr("Removed group %1").replace("%1", group.name),
                                                         ["groups", "contacts", "channels"]),
                       lambda exc: self.failed.emit(describe(exc)))
