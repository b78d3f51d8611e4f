"""Audit log: filter, read page by page and each entry whole, verify (the chain, and against
signed checkpoints), export for an auditor.

Everything here reads: it stays available in a read-only console (the exports write files,
not the database).
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QDateTime, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QIntValidator, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.gui import resources
from console.gui.bridge import Bridge
from console.gui.models.audit import AuditModel
from console.gui.tasks import TaskRunner, describe
from console.gui.views.audit_checkpoints import CheckpointDialog, verdict_html
from console.gui.views.audit_detail import AuditDetail
from console.gui.widgets import Banner, PageHeader, set_columns, setup_table, toolbar_row
from console.services import audit, incidents
from console.services.audit import AuditFilter, AuditPage, AuditRow, CheckpointVerdict, VerifyResult
from console.services.incidents import IncidentSummary
from console.storage import Database

_ANY = QDateTime.fromString("2000-01-01T00:00:00", "yyyy-MM-ddTHH:mm:ss")
_LEADING_NUMBER = re.compile(r"\s*#?\s*(\d+)\b")


class AuditView(QWidget):
    """The tamper-evident log, newest first, fetched a page at a time.

    Signals:
        loaded(int): a query's first page arrived with this many rows.
        verified(object): a VerifyResult after "Verify integrity".
        checkpoints_verified(object): the result of "Verify against checkpoints" (ok, message()).
        exported(int): an export finished with this many entries.
        incidents_loaded(int): the incident filter's choices arrived (this many incidents).
    """

    loaded = Signal(int)
    verified = Signal(object)
    checkpoints_verified = Signal(object)
    exported = Signal(int)
    incidents_loaded = Signal(int)

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, bridge: Bridge,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks, self.bridge = db, actor, tasks, bridge
        self._generation = 0
        self._filter = AuditFilter()
        self._stale = False
        self._selected_seq: int | None = None
        self.checkpoint_dialog: CheckpointDialog | None = None
        self.model = AuditModel(self)
        self._build()
        self.model.more_wanted.connect(self._more)
        bridge.data_changed.connect(self._on_data_changed)
        bridge.broadcast_created.connect(lambda _id: self._on_data_changed("audit"))
        bridge.broadcast_created.connect(lambda _id: self.load_incidents())
        self.refresh()
        self.load_incidents()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)
        layout.addWidget(PageHeader(
            self.tr("Audit log"),
            self.tr("Every action, hash-chained: who did what, to whom, and when. Verify that nothing was altered.")))

        self.verify_button = QPushButton(resources.accent_icon("shield"), self.tr("Verify integrity"))
        self.verify_button.setObjectName("primary")
        self.checkpoints_button = QPushButton(resources.icon("shield"), self.tr("Verify against checkpoints…"))
        self.checkpoints_button.setToolTip(self.tr(
            "Prove against signed checkpoints kept outside the database that no sealed entry was rewritten "
            "and the log did not shrink"))
        self.csv_button = QPushButton(resources.icon("export"), self.tr("Export CSV…"))
        self.json_button = QPushButton(resources.icon("export"), self.tr("Export JSON…"))
        layout.addLayout(toolbar_row(self.verify_button, self.checkpoints_button, self.csv_button, self.json_button))
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
        self.incident_edit = QComboBox()
        self.incident_edit.setEditable(True)
        self.incident_edit.setMinimumWidth(130)
        # Long incident titles widen the list, not the field (and with it the whole filter grid).
        self.incident_edit.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.incident_edit.setMinimumContentsLength(12)
        self.incident_edit.setMaxVisibleItems(20)
        incident_line = self.incident_edit.lineEdit()
        assert incident_line is not None  # editable combo box
        incident_line.setPlaceholderText(self.tr("Any incident"))
        self.broadcast_edit = QLineEdit()
        self.broadcast_edit.setValidator(QIntValidator(1, 2_147_483_647, self.broadcast_edit))
        self.broadcast_edit.setPlaceholderText(self.tr("Any broadcast"))
        self.person_edit = QLineEdit()
        self.person_edit.setPlaceholderText(self.tr("Email, phone or full name"))
        self.person_edit.setToolTip(self.tr(
            "Entries by or about this person: their answers, deliveries to them, help requests, "
            "directory changes. Whole address or name, any case."))
        self.apply_button = QPushButton(resources.icon("search"), self.tr("Apply"))
        self.clear_button = QPushButton(self.tr("Clear"))
        rows = (  # (label, field, first column, columns spanned)
            ((self.tr("From"), self.since, 0, 1), (self.tr("To"), self.until, 1, 1),
             (self.tr("Actor"), self.actor_edit, 2, 1), (self.tr("Action"), self.action_edit, 3, 1),
             (self.tr("Subject or details"), self.text_edit, 4, 1)),
            ((self.tr("Incident"), self.incident_edit, 0, 2), (self.tr("Broadcast"), self.broadcast_edit, 2, 1),
             (self.tr("Person"), self.person_edit, 3, 2)),
        )
        for number, fields in enumerate(rows):
            for text, field, column, span in fields:
                label = QLabel(text)
                label.setObjectName("fieldLabel")
                grid.addWidget(label, number * 2, column, 1, span)
                grid.addWidget(field, number * 2 + 1, column, 1, span)
        grid.addWidget(self.apply_button, 3, 5)
        grid.addWidget(self.clear_button, 3, 6)
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
        self.detail = AuditDetail()
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.table)
        self.split.addWidget(self.detail)
        self.split.setChildrenCollapsible(False)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.detail.setMinimumHeight(250)  # every field of an entry without scrolling, hashes wrapped
        layout.addWidget(self.split, 1)

        selection = self.table.selectionModel()
        selection.currentRowChanged.connect(self._current_changed)
        self.verify_button.clicked.connect(self.verify)
        self.checkpoints_button.clicked.connect(self.verify_checkpoints)
        self.csv_button.clicked.connect(lambda: self.choose_export("csv"))
        self.json_button.clicked.connect(lambda: self.choose_export("json"))
        self.apply_button.clicked.connect(self.apply_filter)
        self.clear_button.clicked.connect(self.clear_filter)
        for edit in (self.actor_edit, self.text_edit, action_line, incident_line, self.broadcast_edit,
                     self.person_edit):
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
        """The filter the fields describe; ValueError names a field that holds no valid choice."""
        def moment(edit: QDateTimeEdit) -> object:
            return None if edit.dateTime() == edit.minimumDateTime() else edit.dateTime().toPython()

        since, until = moment(self.since), moment(self.until)
        broadcast = self.broadcast_edit.text().strip()
        return AuditFilter(
            since=since.astimezone() if since is not None else None,  # type: ignore[attr-defined]
            until=until.astimezone() if until is not None else None,  # type: ignore[attr-defined]
            actor=self.actor_edit.text(), action=self.action_edit.currentText(), text=self.text_edit.text(),
            incident_id=self._incident_choice(), broadcast_id=int(broadcast) if broadcast else None,
            person=self.person_edit.text())

    def _incident_choice(self) -> int | None:
        text = self.incident_edit.currentText().strip()
        found = _LEADING_NUMBER.match(text)
        if text and found is None:
            raise ValueError(self.tr("Incident: “%1” is not an incident number; type one or choose one from "
                                     "the list").replace("%1", text))
        return int(found.group(1)) if found else None

    def apply_filter(self) -> None:
        try:
            self._filter = self.current_filter()
        except ValueError as exc:  # names the field
            self.banner.show_message("error", str(exc))
            return
        if self.banner.tone == "error":
            self.banner.clear_message()
        self.refresh()

    def clear_filter(self) -> None:
        self.show_entries_of()

    def show_entries_of(self, *, incident_id: int | None = None, broadcast_id: int | None = None,
                        person: str = "") -> None:
        """Show only the entries of this incident, broadcast or person (every other filter cleared)."""
        for edit in (self.since, self.until):
            edit.setDateTime(_ANY)
        for line in (self.actor_edit, self.text_edit):
            line.clear()
        self.action_edit.setCurrentText("")
        listed = self.incident_edit.findData(incident_id) if incident_id is not None else -1
        self.incident_edit.setCurrentText(self.incident_edit.itemText(listed) if listed > 0
                                          else str(incident_id) if incident_id is not None else "")
        if (typed := self.incident_edit.lineEdit()) is not None:
            typed.setCursorPosition(0)  # the number and the title's start, not its end
        self.broadcast_edit.setText(str(broadcast_id) if broadcast_id is not None else "")
        self.person_edit.setText(person)
        self.apply_filter()

    def load_incidents(self) -> None:
        """Fill the incident filter's choices (newest first), keeping what is typed."""
        self.tasks.run(lambda: incidents.incident_list(self.db), self._incidents, self._failed)

    def _incidents(self, found: list[IncidentSummary]) -> None:
        typed = self.incident_edit.currentText()
        self.incident_edit.blockSignals(True)
        self.incident_edit.clear()
        self.incident_edit.addItem("")
        for incident in found:
            exercise = self.tr(" (exercise)") if incident.exercise else ""
            self.incident_edit.addItem(f"{incident.id} · {incident.title}{exercise}", incident.id)
        self.incident_edit.setCurrentText(typed)
        self.incident_edit.blockSignals(False)
        self.incidents_loaded.emit(len(found))

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
        self._reselect()
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

    # -- the selected entry, whole ----------------------------------------------------------
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row: AuditRow | None = self.model.row(current.row()) if current.isValid() else None
        self._selected_seq = row.seq if row is not None else None
        self.detail.show_row(row)

    def _reselect(self) -> None:
        """After a reload, keep the entry that was selected if it is still shown."""
        seq = self._selected_seq
        number = self.model.find(lambda r: r.seq == seq) if seq is not None else -1
        if number >= 0:
            self.select_row(number)
        else:
            self.detail.show_row(None)

    def select_row(self, number: int) -> None:
        """Select the table's row `number` (its entry fills the detail pane)."""
        self.table.setCurrentIndex(self.model.index(number, AuditModel.SEQ))

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

    # -- verify against checkpoints ---------------------------------------------------------
    def verify_checkpoints(self) -> CheckpointDialog:
        """Ask for the checkpoint file and key (window-modal, not blocking), then verify in a worker."""
        dialog = CheckpointDialog(None, self)
        dialog.submitted.connect(lambda: self._verify_against(dialog))
        dialog.finished.connect(lambda _result: setattr(self, "checkpoint_dialog", None))
        self.checkpoint_dialog = dialog
        dialog.open()

        def found(path: Path) -> None:  # shown once known, unless a file was typed or chosen meanwhile
            if self.checkpoint_dialog is dialog and not dialog.file_edit.text().strip():
                dialog.file_edit.setText(str(path))

        # No configured file (no log id yet): the field stays empty and its placeholder says what it means.
        self.tasks.run(lambda: audit.checkpoint_file(self.db), found, lambda _exc: None)
        return dialog

    def _verify_against(self, dialog: CheckpointDialog) -> None:
        path, key = dialog.checkpoint_file(), dialog.public_key()
        self.checkpoints_button.setEnabled(False)

        def done(result: CheckpointVerdict) -> None:
            self.checkpoints_button.setEnabled(True)
            dialog.accept()
            self._checkpoints_verified(result)

        def failed(exc: Exception) -> None:  # the file or key given: the dialog stays open to fix it
            self.checkpoints_button.setEnabled(True)
            dialog.show_error(describe(exc))

        self.tasks.run(lambda: audit.verify_with_checkpoints(self.db, path, key), done, failed)

    def _checkpoints_verified(self, result: CheckpointVerdict) -> None:
        self.banner.show_message("ok" if result.ok else "error", verdict_html(result.message()))
        self.checkpoints_verified.emit(result)

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
