"""Audit log: filter, read page by page, verify the hash chain, export for an auditor."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDateTime, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.gui import resources
from console.gui.bridge import Bridge
from console.gui.models.audit import AuditModel
from console.gui.tasks import TaskRunner, describe
from console.gui.widgets import Banner, PageHeader, set_columns, setup_table, toolbar_row
from console.services import audit
from console.services.audit import AuditFilter, AuditPage, VerifyResult
from console.storage import Database

_ANY = QDateTime.fromString("2000-01-01T00:00:00", "yyyy-MM-ddTHH:mm:ss")


class AuditView(QWidget):
    """The tamper-evident log, newest first, fetched a page at a time.

    Signals:
        loaded(int): a query's first page arrived with this many rows.
        verified(object): a VerifyResult after "Verify integrity".
        exported(int): an export finished with this many entries.
    """

    loaded = Signal(int)
    verified = Signal(object)
    exported = Signal(int)

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, bridge: Bridge,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks, self.bridge = db, actor, tasks, bridge
        self._generation = 0
        self._filter = AuditFilter()
        self._stale = False
        self.model = AuditModel(self)
        self._build()
        self.model.more_wanted.connect(self._more)
        bridge.data_changed.connect(self._on_data_changed)
        bridge.broadcast_created.connect(lambda _id: self._on_data_changed("audit"))
        self.refresh()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)
        layout.addWidget(PageHeader(
            self.tr("Audit log"),
            self.tr("Every action, hash-chained: who did what, to whom, and when. Verify that nothing was altered.")))

        self.verify_button = QPushButton(resources.accent_icon("shield"), self.tr("Verify integrity"))
        self.verify_button.setObjectName("primary")
        self.csv_button = QPushButton(resources.icon("export"), self.tr("Export CSV…"))
        self.json_button = QPushButton(resources.icon("export"), self.tr("Export JSON…"))
        layout.addLayout(toolbar_row(self.verify_button, self.csv_button, self.json_button))
        self.banner = Banner(self)
        layout.addWidget(self.banner)

        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(6)
        self.since = self._time_edit()
        self.until = self._time_edit()
        self.actor_edit = QLineEdit()
        self.actor_edit.setPlaceholderText(self.tr("Anyone"))
        self.action_edit = QComboBox()
        self.action_edit.setEditable(True)
        self.action_edit.setMinimumWidth(130)
        action_line = self.action_edit.lineEdit()
        assert action_line is not None  # editable combo box
        action_line.setPlaceholderText(self.tr("Any action"))
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText(self.tr("e.g. broadcast 7, an email address"))
        self.apply_button = QPushButton(resources.icon("search"), self.tr("Apply"))
        self.clear_button = QPushButton(self.tr("Clear"))
        labels = (self.tr("From"), self.tr("To"), self.tr("Actor"), self.tr("Action"), self.tr("Subject or details"))
        fields = (self.since, self.until, self.actor_edit, self.action_edit, self.text_edit)
        for column, (text, field) in enumerate(zip(labels, fields, strict=True)):
            label = QLabel(text)
            label.setObjectName("fieldLabel")
            grid.addWidget(label, 0, column)
            grid.addWidget(field, 1, column)
        grid.addWidget(self.apply_button, 1, len(fields))
        grid.addWidget(self.clear_button, 1, len(fields) + 1)
        grid.setColumnStretch(4, 1)
        layout.addLayout(grid)

        self.count_label = QLabel()
        self.count_label.setObjectName("sectionTitle")
        layout.addWidget(self.count_label)
        self.table = QTableView()
        self.table.setObjectName("auditTable")
        self.table.setModel(self.model)
        setup_table(self.table, sortable=False)
        set_columns(self.table, {AuditModel.SEQ: 64, AuditModel.TIME: 150, AuditModel.ACTOR: 210,
                                 AuditModel.ACTION: 150, AuditModel.SUBJECT: 190}, AuditModel.DETAILS)
        layout.addWidget(self.table, 1)

        self.verify_button.clicked.connect(self.verify)
        self.csv_button.clicked.connect(lambda: self.choose_export("csv"))
        self.json_button.clicked.connect(lambda: self.choose_export("json"))
        self.apply_button.clicked.connect(self.apply_filter)
        self.clear_button.clicked.connect(self.clear_filter)
        for edit in (self.actor_edit, self.text_edit, action_line):
            edit.returnPressed.connect(self.apply_filter)

    def _time_edit(self) -> QDateTimeEdit:
        edit = QDateTimeEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        edit.setMinimumDateTime(_ANY)
        edit.setSpecialValueText(self.tr("Any time"))
        edit.setDateTime(_ANY)
        edit.setMinimumWidth(130)
        return edit

    # -- querying -------------------------------------------------------------------------
    def current_filter(self) -> AuditFilter:
        def moment(edit: QDateTimeEdit) -> object:
            return None if edit.dateTime() == edit.minimumDateTime() else edit.dateTime().toPython()

        since, until = moment(self.since), moment(self.until)
        return AuditFilter(
            since=since.astimezone() if since is not None else None,  # type: ignore[attr-defined]
            until=until.astimezone() if until is not None else None,  # type: ignore[attr-defined]
            actor=self.actor_edit.text(), action=self.action_edit.currentText(), text=self.text_edit.text())

    def apply_filter(self) -> None:
        self._filter = self.current_filter()
        self.refresh()

    def clear_filter(self) -> None:
        for edit in (self.since, self.until):
            edit.setDateTime(_ANY)
        self.actor_edit.clear()
        self.action_edit.setCurrentText("")
        self.text_edit.clear()
        self.apply_filter()

    def focus_filter(self) -> None:
        self.text_edit.setFocus()
        self.text_edit.selectAll()

    def refresh(self) -> None:
        self._stale = False
        self._generation += 1
        generation, flt = self._generation, self._filter
        self.tasks.run(lambda: audit.search_page(self.db, flt), lambda page: self._first(generation, page),
                       self._failed)

    def _first(self, generation: int, page: AuditPage) -> None:
        if generation != self._generation:
            return
        rows, known = page.rows, page.actions
        self.model.start(rows, complete=len(rows) < audit.PAGE)
        typed = self.action_edit.currentText()
        self.action_edit.blockSignals(True)
        self.action_edit.clear()
        self.action_edit.addItems(["", *known])
        self.action_edit.setCurrentText(typed)
        self.action_edit.blockSignals(False)
        self._update_count()
        self.loaded.emit(len(rows))

    def _more(self, before: int) -> None:
        generation, flt = self._generation, self._filter

        def done(page: AuditPage) -> None:
            if generation == self._generation:
                self.model.add_page(page.rows, complete=len(page.rows) < audit.PAGE)
                self._update_count()

        def failed(exc: Exception) -> None:
            self.model.page_failed()
            self._failed(exc)

        self.tasks.run(lambda: audit.search_page(self.db, flt, before), done, failed)

    def _update_count(self) -> None:
        count = self.model.rowCount()
        more = "" if self.model.complete else self.tr(" (scroll for more)")
        self.count_label.setText(self.tr("%1 entries shown").replace("%1", f"{count:,}") + more)

    def _failed(self, exc: Exception) -> None:
        self.banner.show_message("error", describe(exc))

    def _on_data_changed(self, _kind: str) -> None:
        # Every change is audited: reload now if shown, else when next shown.
        if self.isVisible():
            QTimer.singleShot(0, self, self.refresh)
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    # -- verify ---------------------------------------------------------------------------
    def verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.banner.show_message("info", self.tr("Verifying the hash chain…"))

        self.tasks.run(lambda: audit.verify(self.db), self._verified, self._verify_failed)

    def _verified(self, result: VerifyResult) -> None:
        self.verify_button.setEnabled(True)
        if result.ok:
            self.banner.show_message("ok", self.tr("Integrity OK: all %1 entries verified; the chain is whole.")
                                     .replace("%1", f"{result.entries:,}"))
        else:
            self.banner.show_message(
                "error", self.tr("Integrity check FAILED at seq %1: %2. Entries before it (%3) verified.")
                .replace("%1", str(result.bad_seq)).replace("%2", result.problem or "")
                .replace("%3", f"{result.entries:,}"))
        self.verified.emit(result)

    def _verify_failed(self, exc: Exception) -> None:
        self.verify_button.setEnabled(True)
        self._failed(exc)

    # -- export ---------------------------------------------------------------------------
    def choose_export(self, fmt: str) -> None:
        name = f"audit-log.{fmt}"
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export the audit log"), str(Path.home() / name),
                                              f"{fmt.upper()} (*.{fmt})")
        if path:
            self.export_to(Path(path), fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        """Export every entry with its hashes (what the file dialog calls)."""

        def done(count: int) -> None:
            self.banner.show_message("ok", self.tr("Exported %1 entries to %2").replace("%1", f"{count:,}")
                                     .replace("%2", str(path)))
            self.exported.emit(count)

        self.tasks.run(lambda: audit.export_file(self.db, fmt, path), done, self._failed)
