"""Directory: contacts and groups, CSV import, add/edit/remove."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget

from console.gui import resources
from console.gui.bridge import Bridge
from console.gui.models.directory import ContactsModel
from console.gui.models.table import FilterProxy
from console.gui.readonly import mark_writes
from console.gui.tasks import TaskRunner, describe
from console.gui.views.directory_dialogs import ContactDialog
from console.gui.views.groups_panel import GroupsPanel
from console.gui.widgets import Banner, FilterEdit, PageHeader, ProblemsDialog, set_columns, setup_table, toolbar_row
from console.services import directory
from console.services.directory import ALL_GROUP, ContactRef, ContactRow, CsvImportError, GroupRow, ImportReport
from console.storage import Database

log = logging.getLogger("console.gui.directory")


@dataclass(frozen=True)
class _Loaded:
    contacts: list[ContactRow]
    haystacks: list[str]
    presorted: bool
    groups: list[GroupRow]
    sort: tuple[int, Qt.SortOrder] | None


def _load(db: Database, sort: tuple[int, Qt.SortOrder] | None) -> _Loaded:
    """Worker side: read, sort and index the directory so the GUI thread only swaps lists."""
    found = directory.load(db)
    rows, haystacks, presorted = ContactsModel.prepare(found.contacts, sort)
    return _Loaded(rows, haystacks, presorted, found.groups, sort)


def _button(text: str, icon: str, name: str) -> QPushButton:
    button = QPushButton(resources.accent_icon(icon) if name == "primary" else resources.icon(icon), text)
    button.setObjectName(name)
    return button


class DirectoryView(QWidget):
    """Contacts and groups, loaded in a worker; changes go through console.directory.

    Signals:
        loaded(int): a load finished with this many contacts.
        import_finished(bool): a CSV import ended (True: written, False: rejected or failed).
    """

    loaded = Signal(int)
    import_finished = Signal(bool)

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, bridge: Bridge,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks, self.bridge = db, actor, tasks, bridge
        self._generation = 0
        self.contact_dialog: ContactDialog | None = None
        self.problems_dialog: ProblemsDialog | None = None

        self.contacts = ContactsModel(self)
        self.contacts_proxy = FilterProxy(self.contacts, self)
        self.groups = GroupsPanel(db, actor, tasks, self)
        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(0)
        self._reload.timeout.connect(self.refresh)
        self._build()
        bridge.data_changed.connect(self._on_data_changed)
        self.refresh()

    # -- layout -----------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)
        layout.addWidget(PageHeader(self.tr("Directory"),
                                    self.tr("The people you can reach and the groups you send to.")))
        self.import_button = _button(self.tr("Import CSV…"), "import", "importButton")
        self.add_button = _button(self.tr("Add contact"), "add", "primary")
        self.edit_button = _button(self.tr("Edit"), "edit", "editContact")
        self.remove_button = _button(self.tr("Remove"), "remove", "removeContact")
        mark_writes(self.import_button, self.add_button, self.edit_button, self.remove_button)
        self.filter = FilterEdit(self.tr("Filter by name, email, phone or group"))
        layout.addLayout(toolbar_row(self.add_button, self.edit_button, self.remove_button, self.import_button,
                                     self.filter, stretch_at=4))
        self.banner = Banner(self)
        layout.addWidget(self.banner)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.setChildrenCollapsible(False)
        split.addWidget(self.groups)

        contacts_panel = QWidget()
        contacts_layout = QVBoxLayout(contacts_panel)
        contacts_layout.setContentsMargins(0, 0, 0, 0)
        contacts_layout.setSpacing(8)
        self.count_label = QLabel()
        self.count_label.setObjectName("sectionTitle")
        contacts_layout.addWidget(self.count_label)
        self.contacts_table = QTableView()
        self.contacts_table.setObjectName("contactsTable")
        self.contacts_table.setModel(self.contacts_proxy)
        setup_table(self.contacts_table)
        self.contacts_table.sortByColumn(ContactsModel.NAME, Qt.SortOrder.AscendingOrder)
        set_columns(self.contacts_table, {ContactsModel.NAME: 220, ContactsModel.EMAIL: 280, ContactsModel.PHONE: 150},
                    ContactsModel.GROUPS)
        contacts_layout.addWidget(self.contacts_table, 1)
        split.addWidget(contacts_panel)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([360, 900])
        layout.addWidget(split, 1)

        self.import_button.clicked.connect(self.choose_csv)
        self.add_button.clicked.connect(self.add_contact)
        self.edit_button.clicked.connect(self.edit_contact)
        self.remove_button.clicked.connect(self.remove_selected_contact)
        self.contacts_table.doubleClicked.connect(lambda _index: self.edit_button.click())  # no-op when Edit is off
        self.filter.filter_changed.connect(self._filter)
        self.contacts_table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.groups.selection_changed.connect(self._group_selected)
        self.groups.changed.connect(lambda message, kinds: self._changed(message, *kinds))
        self.groups.failed.connect(lambda text: self.banner.show_message("warning", text))
        self.contacts_proxy.rowsInserted.connect(self._update_count)
        self.contacts_proxy.rowsRemoved.connect(self._update_count)
        self.contacts_proxy.modelReset.connect(self._update_count)
        self.contacts_proxy.layoutChanged.connect(self._update_count)
        self._update_buttons()

    # -- loading ------------------------------------------------------------------------
    def refresh(self) -> None:
        self._generation += 1
        generation = self._generation
        sort = self.contacts.sort_spec
        self.tasks.run(lambda: _load(self.db, sort), lambda loaded: self._loaded(generation, loaded),
                       self._failed)

    def focus_filter(self) -> None:
        self.filter.setFocus()
        self.filter.selectAll()

    def _loaded(self, generation: int, loaded: _Loaded) -> None:
        if generation != self._generation:
            return
        presorted = loaded.presorted and self.contacts.sort_spec == loaded.sort  # unless re-sorted meanwhile
        self.contacts.set_rows(loaded.contacts, loaded.haystacks, presorted=presorted)
        self.groups.set_rows(loaded.groups)
        self._update_count()
        self._update_buttons()
        self.loaded.emit(len(loaded.contacts))

    def _on_data_changed(self, kind: str) -> None:
        if kind in ("contacts", "groups", "channels"):
            self._reload.start()

    def _failed(self, exc: Exception) -> None:
        self.banner.show_message("error", describe(exc))

    def _changed(self, message: str, *kinds: str) -> None:
        self.banner.clear_message()
        self.bridge.status_message.emit(message)
        for kind in kinds or ("contacts",):
            self.bridge.data_changed.emit(kind)

    # -- filtering and selection ----------------------------------------------------------
    def _filter(self, text: str) -> None:
        self.contacts_proxy.set_text(text)
        self._update_count()

    def _group_selected(self, group: GroupRow | None) -> None:
        if group is None or group.name == ALL_GROUP:
            self.contacts_proxy.set_predicate(None)
        else:
            name = group.name
            self.contacts_proxy.set_predicate(lambda contact: name in contact.groups)
        self._update_count()

    def _update_count(self, *_args: Any) -> None:
        total, shown = self.contacts.rowCount(), self.contacts_proxy.rowCount()
        group = self.groups.selected()
        if shown == total:
            text = self.tr("1 contact") if total == 1 else self.tr("%1 contacts").replace("%1", f"{total:,}")
        else:
            text = self.tr("Showing %1 of %2 contacts").replace("%1", f"{shown:,}").replace("%2", f"{total:,}")
        if group is not None and group.name != ALL_GROUP:
            text += self.tr(" · group %1").replace("%1", group.name)
        self.count_label.setText(text)

    def _update_buttons(self, *_args: Any) -> None:
        has_contact = self.selected_contact() is not None
        self.edit_button.setEnabled(has_contact)
        self.remove_button.setEnabled(has_contact)

    def selected_contact(self) -> ContactRow | None:
        rows = self.contacts_table.selectionModel().selectedRows()
        return self.contacts_proxy.row_at(rows[0].row()) if rows else None

    def select_contact(self, email: str) -> bool:
        source_row = self.contacts.find(lambda c: c.email == email)
        if source_row < 0:
            return False
        proxy = self.contacts_proxy.mapFromSource(self.contacts.index(source_row, 0))
        if not proxy.isValid():
            return False
        self.contacts_table.selectRow(proxy.row())
        self.contacts_table.scrollTo(proxy)
        return True

    def select_group(self, name: str) -> bool:
        return self.groups.select(name)

    # -- CSV import ---------------------------------------------------------------------
    def choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Import contacts"), str(Path.home()),
                                              self.tr("CSV files (*.csv);;All files (*)"))
        if path:
            self.import_csv(Path(path))

    def import_csv(self, path: Path) -> None:
        """Import a file in a worker: all rows or none (what the file dialog calls)."""
        self.import_button.setEnabled(False)
        self.banner.show_message("info", self.tr("Importing %1…").replace("%1", path.name))

        self.tasks.run(lambda: directory.import_csv(self.db, path, self.actor), self._imported, self._import_failed)

    def _imported(self, report: ImportReport) -> None:
        self.import_button.setEnabled(True)
        summary = report.summary()
        if report.ignored_columns:
            summary += self.tr(" (ignored columns: %1)").replace("%1", ", ".join(report.ignored_columns))
        self._changed(summary, "contacts", "groups")
        self.banner.show_message("ok", summary)
        self.import_finished.emit(True)

    def _import_failed(self, exc: Exception) -> None:
        self.import_button.setEnabled(True)
        self.banner.clear_message()
        if isinstance(exc, CsvImportError):
            count = len(exc.problems)
            intro = self.tr("Nothing was imported: %1 problem(s) in the file. Correct them and import it again.")\
                .replace("%1", f"{count:,}")
            self.problems_dialog = ProblemsDialog(self.tr("CSV import rejected"), intro, exc.problems, self)
            self.problems_dialog.open()
        else:
            self.banner.show_message("error", describe(exc))
        self.import_finished.emit(False)

    # -- contacts -----------------------------------------------------------------------
    def add_contact(self) -> None:
        self._open_contact_dialog(None)

    def edit_contact(self) -> None:
        contact = self.selected_contact()
        if contact is not None:
            self._open_contact_dialog(contact)

    def _open_contact_dialog(self, contact: ContactRow | None) -> None:
        dialog = ContactDialog(self.groups.names(), contact, self)
        dialog.submitted.connect(lambda: self._save_contact(dialog))
        self.contact_dialog = dialog
        dialog.open()

    def _save_contact(self, dialog: ContactDialog) -> None:
        draft = dialog.draft()

        def work() -> ContactRef:
            return directory.save_contact(self.db, self.actor, name=draft.name, email=draft.email,
                                          phone=draft.phone, groups=draft.groups, contact_id=draft.contact_id)

        def done(saved: ContactRef) -> None:
            dialog.accept()
            self._changed(self.tr("Saved contact %1").replace("%1", saved.email))

        self.tasks.run(work, done, lambda exc: dialog.show_error(describe(exc)))

    def remove_selected_contact(self) -> None:
        contact = self.selected_contact()
        if contact is None:
            return
        answer = QMessageBox.question(
            self, self.tr("Remove contact"),
            self.tr("Remove %1 <%2> from the directory? Past broadcasts keep their record.")
            .replace("%1", contact.name).replace("%2", contact.email))
        if answer != QMessageBox.StandardButton.Yes:
            return

        def work() -> None:
            directory.remove_contact(self.db, self.actor, contact.id)

        self.tasks.run(work, lambda _: self._changed(self.tr("Removed contact %1").replace("%1", contact.email)),
                       self._failed)

    def contact_index(self, email: str) -> QModelIndex:
        """The proxy index of a contact's row (tests, selection)."""
        row = self.contacts.find(lambda c: c.email == email)
        return QModelIndex() if row < 0 else self.contacts_proxy.mapFromSource(self.contacts.index(row, 0))
