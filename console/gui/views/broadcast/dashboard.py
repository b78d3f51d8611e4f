"""Broadcasts, live: incidents and their broadcasts; progress, answers and recipients of one,
or, an incident selected, the picture of all its people (incident_panel).

Everything shown is read from the database by workers (console.services.live),
on bridge signals and on a one-second timer, so a second console on the same
PostgreSQL database sees the same broadcasts and answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QElapsedTimer, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from console.gui.bridge import Bridge
from console.gui.models.broadcast_tree import BROADCAST_ID_ROLE, INCIDENT_ID_ROLE, BroadcastTreeModel
from console.gui.models.recipients import RecipientsFilter, RecipientsModel, SortedRows
from console.gui.readonly import mark_writes
from console.gui.tasks import TaskRunner
from console.gui.views.broadcast.actions import BroadcastActions
from console.gui.views.broadcast.chart import AnswersChart
from console.gui.views.broadcast.counts import CountsPanel
from console.gui.views.broadcast.dialogs import ask_follow_up, ask_yes_no
from console.gui.views.broadcast.incident_panel import IncidentPanel, ask_reason
from console.gui.views.broadcast.live import LiveQuery
from console.gui.views.broadcast.recipients_table import RecipientsTable
from console.gui.views.broadcast.report_action import ReportAction
from console.services import live as data
from console.services.broadcasts import BroadcastStatus, FollowUpBase
from console.services.reports import ReportScope
from console.storage import Database
from console.vocabulary import BroadcastKind, BroadcastState, IncidentState

log = logging.getLogger("console.gui.broadcasts")

REFRESH_MS = 1000
"""Reads on a timer, so other consoles' broadcasts and answers show up too."""
FULL_RELOAD_MS = 15_000
"""Between incremental reads, the whole list is read again now and then: a delivery whose
change was committed later than data.CHANGE_MARGIN after it was stamped would otherwise be
missed."""
DETAIL_MIN_MS = 400
"""At most ~2.5 reads a second of the shown broadcast, however fast deliveries are recorded:
each read of 10,000 recipients is Python work that competes with the GUI thread for the GIL."""
TREE_MIN_MS = 500

_Detail = tuple[data.DetailRead, SortedRows | None]
"""A read of the shown broadcast, and all its rows sorted for the table when it has them."""


class BroadcastsView(QWidget):
    """The live dashboard of sent broadcasts.

    Signals:
        selected(int): the broadcast now shown (0 when none).
        detail_applied(int): a fresh read of the shown broadcast was applied (tests wait on it).
        tree_applied(): a fresh read of the incident list was applied.
    """

    selected = Signal(int)
    detail_applied = Signal(int)
    tree_applied = Signal()

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, bridge: Bridge,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks, self.bridge = db, actor, tasks, bridge
        self.broadcast_id: int | None = None
        self.status: BroadcastStatus | None = None
        self._wanted_id: int | None = None
        self._wanted_incident: tuple[int, int | None] | None = None
        self._fingerprint: tuple[object, ...] | None = None
        self._mark: data.Watermark | None = None
        self._since_full = QElapsedTimer()
        self._build()
        self.confirm: Callable[[str, str], bool] = lambda title, text: ask_yes_no(self, title, text)
        """Asks yes/no before remind and cancel; tests replace it."""
        self.ask_follow_up: Callable[[BroadcastKind, FollowUpBase], tuple[str, str] | None] = (
            lambda kind, base: ask_follow_up(self, kind, base.title, base.exercise))
        """Asks for the (title, body) of an update or all-clear; None cancels. Tests replace it."""
        self.confirm_close: Callable[[str, str], str | None] = lambda title, text: ask_reason(self, title, text)
        """Asks to close an incident over people left behind; the reason, or None to cancel. Tests replace it."""
        self.operations = BroadcastActions(self, self)
        self.report = ReportAction(db, actor, tasks, self.report_button, self.report_target, self)
        self.report.done.connect(bridge.status_message)
        self.report.failed.connect(self._show_error)
        self._tree_read = LiveQuery(tasks, self._plan_tree, TREE_MIN_MS, self)
        self._detail_read = LiveQuery(tasks, self._plan_detail, DETAIL_MIN_MS, self)
        for live in (self._tree_read, self._detail_read):
            live.failed.connect(self._show_error)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        bridge.deliveries_recorded.connect(self._on_recorded)
        bridge.broadcasts_finished.connect(self._on_finished)
        bridge.broadcast_created.connect(self._on_created)
        bridge.answers_recorded.connect(self._on_answers)
        QTimer.singleShot(0, self._tree_read.request)

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.tree_model = BroadcastTreeModel(self)
        self.tree = QTreeView()
        self.tree.setModel(self.tree_model)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 64), (2, 64), (3, 96)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        self.tree.selectionModel().currentRowChanged.connect(self._on_current)
        self.tree_model.rowsInserted.connect(self._expand_new)

        self.heading = QLabel(self.tr("Select a broadcast"))
        self.heading.setObjectName("broadcastHeading")
        self.heading.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.counts = CountsPanel()
        self.bars, self.people_label = self.counts.bars, self.counts.people_label
        self.messages_label, self.answers_label = self.counts.messages_label, self.counts.answers_label
        self.chart = AnswersChart()

        self.recipients = RecipientsModel(self)
        self.proxy = RecipientsFilter(self)
        self.proxy.setSourceModel(self.recipients)
        self.table = RecipientsTable()
        self.table.setModel(self.proxy)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        columns = self.table.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        columns.setStretchLastSection(False)
        columns.setSectionResizeMode(RecipientsModel.ERROR, QHeaderView.ResizeMode.Stretch)
        for col, width in enumerate((150, 200, 76, 0, 96, 90)):
            if width:
                self.table.setColumnWidth(col, width)
        self.filter_box = QComboBox()
        texts = (self.tr("All"), self.tr("No answer"), self.tr("Needs help"), self.tr("Failed"))
        for mode, text in zip(RecipientsFilter.MODES, texts, strict=True):
            self.filter_box.addItem(text, mode)
        self.filter_box.currentIndexChanged.connect(
            lambda _i: self.proxy.set_mode(self.filter_box.currentData()))
        self.shown_label = QLabel()
        for signal in (self.proxy.modelReset, self.proxy.rowsInserted, self.proxy.rowsRemoved,
                       self.proxy.layoutChanged):
            signal.connect(self._count_shown)

        self.remind_button = QPushButton(self.tr("Remind those without an answer"))
        self.update_button = QPushButton(self.tr("Send update…"))
        self.all_clear_button = QPushButton(self.tr("Send all-clear…"))
        self.cancel_button = QPushButton(self.tr("Cancel pending"))
        mark_writes(self.remind_button, self.update_button, self.all_clear_button, self.cancel_button)
        buttons = QHBoxLayout()
        for button in (self.remind_button, self.update_button, self.all_clear_button, self.cancel_button):
            button.setEnabled(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.report_button = QPushButton(self.tr("Report…"))  # writes a file: allowed in read-only mode
        self.report_button.setToolTip(self.tr("A report of the selected incident or message: PDF, or its people "
                                              "as CSV or JSON"))
        self.report_button.setEnabled(False)
        buttons.addWidget(self.report_button)

        filters = QHBoxLayout()
        filters.addWidget(QLabel(self.tr("Show")))
        filters.addWidget(self.filter_box)
        filters.addStretch(1)
        filters.addWidget(self.shown_label)

        detail = QWidget()
        box = QVBoxLayout(detail)
        box.addWidget(self.heading)
        box.addWidget(self.error_label)
        box.addWidget(self.counts)
        box.addWidget(self.chart, 2)
        box.addLayout(filters)
        box.addWidget(self.table, 3)
        self.detail = detail
        self.incident_panel = IncidentPanel(self.db, self.actor, self.tasks)  # shown when an incident is selected
        self.incident_panel.failed.connect(self._show_error)
        self.incident_panel.done.connect(self.bridge.status_message)
        self.pages = QStackedWidget()
        self.pages.addWidget(detail)
        self.pages.addWidget(self.incident_panel)
        right = QWidget()
        right_box = QVBoxLayout(right)
        right_box.setContentsMargins(0, 0, 0, 0)
        right_box.addWidget(self.pages, 1)
        right_box.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tree)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        split.setSizes([400, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    def _expand_new(self, parent: QModelIndex, first: int, last: int) -> None:
        if parent.isValid():
            self.tree.expand(parent)
        else:
            for row in range(first, last + 1):
                self.tree.expand(self.tree_model.index(row, 0))

    # -- selection ------------------------------------------------------------------------
    def select_broadcast(self, broadcast_id: int) -> None:
        """Show this broadcast, now if it is listed, else as soon as the next read lists it."""
        index = self.tree_model.index_of_broadcast(broadcast_id)
        if not index.isValid():
            self._wanted_id = broadcast_id
            self._tree_read.request()
            return
        self._wanted_id = None
        self.tree.expand(index.parent())
        self.tree.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.tree.scrollTo(index)

    def select_incident(self, incident_id: int, latest: int | None = None) -> None:
        """Show the incident's picture, as soon as the list has it (and `latest`, a message just sent)."""
        rows = (self.tree_model.index(r, 0) for r in range(self.tree_model.rowCount()))
        index = next((i for i in rows if i.data(INCIDENT_ID_ROLE) == incident_id), QModelIndex())
        if not index.isValid() or (latest is not None and not self.tree_model.index_of_broadcast(latest).isValid()):
            self._wanted_incident = (incident_id, latest)
            self._tree_read.request()
            return
        self._wanted_incident = None
        self.tree.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.tree.scrollTo(index)
        self._on_current(index, index)  # already current: its latest message may be new

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        bid = current.data(BROADCAST_ID_ROLE) if current.isValid() else None
        incident = current.data(INCIDENT_ID_ROLE) if current.isValid() and bid is None else None
        self.incident_panel.show_incident(incident)  # an incident row: its picture; a message row: its detail
        self.pages.setCurrentWidget(self.incident_panel if incident is not None else self.detail)
        if bid is None and current.isValid() and self.tree_model.rowCount(current.siblingAtColumn(0)):
            bid = self.tree_model.index(self.tree_model.rowCount(current.siblingAtColumn(0)) - 1, 0,
                                        current.siblingAtColumn(0)).data(BROADCAST_ID_ROLE)
        if bid == self.broadcast_id:
            return
        self.broadcast_id = bid
        self.status = None
        self._fingerprint = None
        self._mark = None
        self.recipients.set_rows(None, [])
        self.chart.clear()
        self._show_status()
        self.selected.emit(bid or 0)
        if bid is not None:
            self._detail_read.request()

    # -- reads ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the list and the shown broadcast again (both in workers)."""
        self._tree_read.request()
        self._detail_read.request()
        self.incident_panel.refresh()

    def _tick(self) -> None:
        if self.isVisible():
            self.refresh()

    def _on_recorded(self, broadcast_ids: list[int]) -> None:
        if self.broadcast_id in broadcast_ids:
            self._detail_read.request()

    def _on_created(self, _broadcast_id: int) -> None:
        self._tree_read.request()

    def _on_finished(self, ids: list[int]) -> None:
        self._tree_read.request()
        if self.broadcast_id in ids:
            self._detail_read.request()

    def _on_answers(self, broadcast_id: int) -> None:
        if broadcast_id == self.broadcast_id:
            self._detail_read.request()

    def _plan_tree(self) -> tuple[Callable[[], Any], Callable[[Any], None]]:
        db = self.db
        return (lambda: data.load_tree(db)), self._apply_tree

    def _apply_tree(self, incidents: tuple[data.IncidentNode, ...]) -> None:
        self.tree_model.update(incidents)
        if self._wanted_incident is not None:
            self.select_incident(*self._wanted_incident)
        elif self._wanted_id is not None:
            self.select_broadcast(self._wanted_id)
        elif self.broadcast_id is None and self.tree_model.rowCount():
            first = self.tree_model.index(0, 0)
            if self.tree_model.rowCount(first):
                self.select_broadcast(self.tree_model.index(self.tree_model.rowCount(first) - 1, 0, first)
                                      .data(BROADCAST_ID_ROLE))
        self._update_buttons()
        self.tree_applied.emit()

    def _plan_detail(self) -> tuple[Callable[[], _Detail], Callable[[_Detail], None]] | None:
        bid = self.broadcast_id
        if bid is None:
            return None
        db, known = self.db, self._fingerprint
        showing = self.recipients.broadcast_id == bid
        snapshot = self.recipients.snapshot() if showing else None
        mark = self._mark if showing else None
        full = mark is None or self._since_full.hasExpired(FULL_RELOAD_MS)
        order = self.recipients.sort_spec

        def job() -> _Detail:
            read = data.read_detail(db, bid, known, mark, snapshot, full)
            return read, SortedRows.of(read.rows, order) if read.rows is not None else None

        return job, self._apply_detail

    def _apply_detail(self, result: _Detail) -> None:
        read, rows = result
        if read.broadcast_id != self.broadcast_id:
            return
        if rows is not None:
            self.recipients.set_rows(read.broadcast_id, rows)
        elif self.recipients.broadcast_id == read.broadcast_id:
            self.recipients.apply(read.changes)
        self._mark = read.mark
        if read.full:
            self._since_full.start()
        self._fingerprint = read.detail.fingerprint
        self.status = read.detail.status
        self.chart.show_series(read.detail.start, read.detail.end, read.detail.series, read.detail.status.recipients,
                               read.detail.status.help_options)
        self._show_status()
        self.error_label.hide()
        self.detail_applied.emit(read.broadcast_id)

    # -- showing --------------------------------------------------------------------------
    def _show_status(self) -> None:
        st = self.status
        self.counts.show_status(st)
        if st is None:
            self.heading.setText(self.tr("Select a broadcast") if self.broadcast_id is None else self.tr("Loading…"))
            self.shown_label.clear()
            self._update_buttons()
            return
        drill = self.tr("[EXERCISE] ") if st.exercise else ""
        self.heading.setText(self.tr("<b>{drill}{title}</b> — {kind}, {severity}, {state}").format(
            drill=drill, title=st.title.replace("<", "&lt;"), kind=st.kind, severity=st.severity, state=st.state))
        self._count_shown()
        self._update_buttons()

    def _count_shown(self) -> None:
        self.shown_label.setText(self.tr("{shown} of {total} people shown").format(
            shown=self.proxy.rowCount(), total=self.recipients.rowCount()))

    def _update_buttons(self) -> None:
        st = self.status
        node = self.tree_model.broadcast(self.broadcast_id) if self.broadcast_id else None
        incident_open = node is not None and self.tree_model.incident_state(node.incident_id) == IncidentState.OPEN
        busy = self.operations.busy
        self.remind_button.setEnabled(bool(st and not busy and st.state != BroadcastState.CANCELLED
                                           and st.acknowledged < st.recipients))
        self.cancel_button.setEnabled(bool(st and not busy and st.pending))
        self.update_button.setEnabled(bool(st and not busy and incident_open))
        self.all_clear_button.setEnabled(bool(st and not busy and incident_open))
        self.report_button.setEnabled(not self.report.busy and self.report_target() is not None)

    def report_target(self) -> tuple[ReportScope, int, str] | None:
        """What "Report…" covers: the selected incident row's incident, else the shown message."""
        current = self.tree.currentIndex()
        incident = current.data(INCIDENT_ID_ROLE) if current.isValid() else None
        if incident is not None and current.data(BROADCAST_ID_ROLE) is None:
            return ReportScope.INCIDENT, int(incident), str(current.siblingAtColumn(0).data() or "")
        node = self.tree_model.broadcast(self.broadcast_id) if self.broadcast_id else None
        return (ReportScope.BROADCAST, node.id, node.title) if node is not None else None

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()
        self.bridge.status_message.emit(text)
