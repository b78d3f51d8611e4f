"""Audit log: filter, read page by page and each entry whole, verify (the chain, and against
signed checkpoints), export for an auditor.

Everything here reads: it stays available in a read-only console (the exports write files,
not the database).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget

from console.gui import resources
from console.gui.bridge import Bridge
from console.gui.models.audit import AuditModel
from console.gui.tasks import TaskRunner, describe
from console.gui.views.audit_checkpoints import CheckpointDialog, verdict_html
from console.gui.views.audit_detail import AuditDetail
from console.gui.views.audit_filters import AuditFilterBar
from console.gui.widgets import Banner, PageHeader, set_columns, setup_table, toolbar_row
from console.services import audit, incidents
from console.services.audit import AuditFilter, AuditPage, AuditRow, CheckpointVerdict, VerifyResult
from console.services.incidents import IncidentSummary
from console.storage import Database


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

        self.filters = AuditFilterBar()
        layout.addWidget(self.filters)

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
        self.filters.apply_requested.connect(self.apply_filter)
        self.filters.clear_requested.connect(self.clear_filter)

    # -- querying -------------------------------------------------------------------------
    def apply_filter(self) -> None:
        try:
            self._filter = self.filters.current_filter()
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
        self.filters.set_fields(incident_id=incident_id, broadcast_id=broadcast_id, person=person)
        self.apply_filter()

    def load_incidents(self) -> None:
        """Fill the incident filter's choices (newest first), keeping what is typed."""
        self.tasks.run(lambda: incidents.incident_list(self.db), self._incidents, self._failed)

    def _incidents(self, found: list[IncidentSummary]) -> None:
        self.filters.set_incidents(found)
        self.incidents_loaded.emit(len(found))

    def focus_filter(self) -> None:
        self.filters.focus()

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
        self.filters.set_actions(known)
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
            self.banner.show_message("ok", self.tr(
                "Integrity OK: all %1 entries verified; the chain and its head agree.\nThe chain alone cannot "
                "exclude a rewrite from the database's own head: use Verify against checkpoints for that.")
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
