"""The incident picture on the Broadcasts page: every person of an incident and where they stand.

Shown when an incident (not one of its messages) is selected in the Broadcasts
page's tree: headline counts in people, the people table sorted needs-help first
with its filters, the answers over time across all the incident's messages, and
the help-request actions (call, email, mark handled, reopen) and a guarded close
without an all-clear. Reads run in a worker (console.services.incident_live) on
the page's timer and signals; the actions call console.services.incidents in a
worker too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QItemSelectionModel, Qt, QUrl, QUrlQuery, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.gui.models.incident_people import IncidentPeopleFilter, IncidentPeopleModel
from console.gui.readonly import mark_writes
from console.gui.tasks import TaskRunner, describe
from console.gui.views.broadcast.chart import AnswersChart
from console.gui.views.broadcast.dialogs import ask_note, ask_yes_no
from console.gui.views.broadcast.live import LiveQuery
from console.gui.widgets import setup_table
from console.services import incidents
from console.services.incident_live import IncidentRead, read_incident
from console.services.incidents import IncidentPicture, PersonRow, PictureCounts
from console.storage import Database
from console.vocabulary import HelpState, IncidentState

log = logging.getLogger("console.gui.broadcasts")

_T = TypeVar("_T")
READ_MIN_MS = 500
"""At most two reads a second of the shown incident (each reads every person of it)."""

_Prepared = tuple[list[PersonRow], list[str], bool, tuple[int, Qt.SortOrder] | None]
"""The people for the table (IncidentPeopleModel.prepare: rows, search texts, sorted) and the sort asked for."""
_Read = tuple[IncidentRead, _Prepared | None]
"""A read, and its people prepared for the table; None when they have not changed."""


def tel_url(person: PersonRow) -> QUrl | None:
    """`tel:` with the number as stored, spaces and dashes dropped; None without a phone."""
    if not person.phone:
        return None
    number = "".join(ch for ch in person.phone if ch.isdigit() or ch == "+")
    return QUrl(f"tel:{number}") if number else None


def mailto_url(person: PersonRow, subject: str) -> QUrl:
    url = QUrl(f"mailto:{person.email}")
    query = QUrlQuery()
    query.addQueryItem("subject", subject)
    url.setQuery(query)
    return url


def left_behind(parent: QWidget, counts: PictureCounts, closing: str) -> str:
    """The question before closing over people left behind (`closing`: what closes the incident)."""
    return parent.tr(
        "{help} people still need help (open requests) and {silent} people are unaccounted for "
        "({no_answer} without an answer, {unreachable} unreachable).\n\n"
        "{closing} closes the incident. Go ahead anyway? Say why; the reason is kept in the audit log.").format(
        help=counts.needs_help_open, silent=counts.unaccounted, no_answer=counts.no_answer,
        unreachable=counts.unreachable, closing=closing)


def ask_reason(parent: QWidget, title: str, text: str) -> str | None:
    """Confirmation with a reason (the OK button stays off without one); None when cancelled."""
    return ask_note(parent, title, text, parent.tr("Why close now? (kept in the audit log)"),
                    parent.tr("Close anyway"))


class IncidentPanel(QWidget):
    """The picture of one incident.

    Signals:
        applied(int): a fresh read of the shown incident was applied (tests wait on it).
        done(str): a help request was marked handled or reopened; the text says so.
        failed(str): a read or an action failed; the text is for a person.
    """

    applied = Signal(int)
    done = Signal(str)
    failed = Signal(str)

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks = db, actor, tasks
        self.incident_id: int | None = None
        self.picture: IncidentPicture | None = None
        self.busy = False
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
        """Opens tel: and mailto: links; tests replace it (nothing is launched)."""
        self.ask_note: Callable[[PersonRow], str | None] = self._ask_note
        """Asks what was done for a person's help request; None cancels. Tests replace it."""
        self.confirm: Callable[[str, str], bool] = lambda title, text: ask_yes_no(self, title, text)
        """Asks before a close that leaves nobody behind. Tests replace it."""
        self.confirm_close: Callable[[str, str], str | None] = lambda title, text: ask_reason(self, title, text)
        """Asks before a close over people left behind: the reason, or None to cancel. Tests replace it."""
        self._build()
        self._read = LiveQuery(tasks, self._plan, READ_MIN_MS, self)
        self._read.failed.connect(self.failed)

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.heading = QLabel()
        self.heading.setObjectName("incidentHeading")
        self.heading.setWordWrap(True)
        self.counts_label = QLabel()
        self.counts_label.setObjectName("incidentCounts")
        self.counts_label.setWordWrap(True)
        self.chart = AnswersChart()
        self.chart.chart.setTitle(self.tr("Answers over time (people, all messages of the incident)"))

        self.people = IncidentPeopleModel(self)
        self.proxy = IncidentPeopleFilter(self.people, self)
        self.table = QTableView()
        self.table.setObjectName("incidentPeople")
        self.table.setModel(self.proxy)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # needs-help first
        setup_table(self.table, row_height=22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((130, 110, 190, 110, 72, 150, 80, 116, 190)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_person())

        self.filter_box = QComboBox()
        texts = (self.tr("All"), self.tr("Needs help (open)"), self.tr("Help handled"), self.tr("No answer"),
                 self.tr("Unreachable"), self.tr("Safe"))
        for mode, text in zip(IncidentPeopleFilter.MODES, texts, strict=True):
            self.filter_box.addItem(text, mode)
        self.filter_box.currentIndexChanged.connect(lambda _i: self.proxy.set_mode(self.filter_box.currentData()))
        self.shown_label = QLabel()
        for signal in (self.proxy.modelReset, self.proxy.rowsInserted, self.proxy.rowsRemoved,
                       self.proxy.layoutChanged):
            signal.connect(self._count_shown)
        filters = QHBoxLayout()
        filters.addWidget(QLabel(self.tr("Show")))
        filters.addWidget(self.filter_box)
        filters.addStretch(1)
        filters.addWidget(self.shown_label)

        self.person_label = QLabel()
        self.person_label.setObjectName("helpRequest")
        self.person_label.setWordWrap(True)
        self.person_label.setTextFormat(Qt.TextFormat.PlainText)
        self.call_button = QPushButton(self.tr("Call"))
        self.email_button = QPushButton(self.tr("Email"))
        self.handle_button = QPushButton(self.tr("Mark handled…"))
        self.reopen_button = QPushButton(self.tr("Reopen"))
        self.close_button = QPushButton(self.tr("Close incident…"))
        self.close_button.setToolTip(self.tr("Close without an all-clear (nobody is told)"))
        self.close_button.clicked.connect(self.close_incident)
        mark_writes(self.call_button, self.email_button, self.handle_button, self.reopen_button, self.close_button)
        self.call_button.clicked.connect(self.call)
        self.email_button.clicked.connect(self.email)
        self.handle_button.clicked.connect(self.mark_handled)
        self.reopen_button.clicked.connect(self.reopen)
        actions = QHBoxLayout()
        for button in (self.call_button, self.email_button, self.handle_button, self.reopen_button):
            button.setEnabled(False)
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.close_button)
        self.close_button.setEnabled(False)

        lower = QWidget()
        box = QVBoxLayout(lower)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(filters)
        box.addWidget(self.table, 1)
        box.addWidget(self.person_label)
        box.addLayout(actions)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.chart)
        split.addWidget(lower)
        split.setStretchFactor(1, 2)
        split.setSizes([230, 470])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.counts_label)
        layout.addWidget(split, 1)

    # -- reads ----------------------------------------------------------------------------
    def show_incident(self, incident_id: int | None) -> None:
        """Show this incident (None: nothing); its first read starts in a worker."""
        if incident_id != self.incident_id:
            self.incident_id = incident_id
            self.picture = None
            self.people.set_rows([])
            self.chart.clear()
            self.heading.setText(self.tr("Loading…") if incident_id is not None else "")
            self.counts_label.clear()
            self._show_person()
        self.refresh()

    def refresh(self) -> None:
        if self.incident_id is not None:
            self._read.request()

    def _plan(self) -> tuple[Callable[[], _Read], Callable[[_Read], None]] | None:
        incident_id = self.incident_id
        if incident_id is None:
            return None
        db, known, order = self.db, self.picture, self.people.sort_spec

        def job() -> _Read:  # comparing, searching and sorting 10,000 rows is worker work too
            read = read_incident(db, incident_id)
            pic = read.picture
            if known is not None and known.people == pic.people and known.broadcasts == pic.broadcasts:
                return read, None
            return read, (*IncidentPeopleModel.prepare(list(pic.people), order), order)

        return job, self._apply

    def _apply(self, result: _Read) -> None:
        read, prepared = result
        pic = read.picture
        if pic.incident.id != self.incident_id:
            return
        self.picture = pic
        if prepared is not None:
            chosen = self.selected_person()
            rows, haystacks, presorted, order = prepared
            self.people.message_titles = {b.id: b.title for b in pic.broadcasts}
            self.people.set_rows(rows, haystacks, presorted=presorted and order == self.people.sort_spec)
            if chosen is not None:
                self.select_person(chosen.email)
        self.chart.show_series(read.start, read.end, read.series, pic.incident.counts.people, read.alarm)
        self._show_counts()
        self._show_person()
        self.applied.emit(pic.incident.id)

    # -- showing --------------------------------------------------------------------------
    def _show_counts(self) -> None:
        pic = self.picture
        if pic is None:
            return
        inc, c = pic.incident, pic.incident.counts
        drill = self.tr("[EXERCISE] ") if inc.exercise else ""
        state = self.tr("open") if inc.state is IncidentState.OPEN else self.tr("closed")
        self.heading.setText(self.tr("<b>{drill}{title}</b> — incident, {state}, {n} messages").format(
            drill=drill, title=inc.title.replace("&", "&amp;").replace("<", "&lt;"), state=state, n=inc.messages))
        self.counts_label.setText(self.tr(
            "{people} people: {open} need help (open), {handled} handled, {safe} safe, {silent} no answer, "
            "{unreachable} unreachable").format(people=c.people, open=c.needs_help_open, handled=c.needs_help_handled,
                                                safe=c.safe, silent=c.no_answer, unreachable=c.unreachable))
        self._count_shown()

    def _count_shown(self) -> None:
        self.shown_label.setText(self.tr("{shown} of {total} people shown").format(
            shown=self.proxy.rowCount(), total=self.people.rowCount()))

    def selected_person(self) -> PersonRow | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid():
            return None
        return self.proxy.person_at(index.row())

    def select_person(self, email: str) -> bool:
        """Select the row of this person if the filter shows it."""
        row = self.people.find_email(email)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.people.index(row, 0))
        if not index.isValid():
            return False
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        return True

    def _show_person(self) -> None:
        p = self.selected_person()
        open_incident = self.picture is not None and self.picture.incident.state is IncidentState.OPEN
        self.call_button.setEnabled(p is not None and tel_url(p) is not None)
        self.email_button.setEnabled(p is not None)
        self.handle_button.setEnabled(bool(p and p.help_open and p.help is not None and not self.busy))
        handled = p is not None and p.help is not None and p.help.state is HelpState.HANDLED
        self.reopen_button.setEnabled(handled and not self.busy and open_incident)
        self.close_button.setEnabled(open_incident and not self.busy)
        if p is None:
            self.person_label.clear()
            return
        parts = [f"{p.name} <{p.email}>", self.people.status_text(p)]
        if p.note:
            parts.append(self.tr("says: “{note}”").format(note=p.note))
        if p.phone:
            parts.append(self.tr("phone {phone}").format(phone=p.phone))
        if handled and p.help is not None:
            parts.append(self.tr("handled by {who}: {note}").format(who=p.help.handled_by,
                                                                    note=p.help.handled_note or ""))
        self.person_label.setText(" — ".join(parts))

    # -- actions --------------------------------------------------------------------------
    def call(self) -> None:
        p = self.selected_person()
        url = tel_url(p) if p is not None else None
        if p is not None and url is not None and not self.open_url(url):
            self.failed.emit(self.tr("No application here opens phone links: call {phone}").format(phone=p.phone))

    def email(self) -> None:
        p, pic = self.selected_person(), self.picture
        if p is None or pic is None:
            return
        if not self.open_url(mailto_url(p, pic.incident.title)):
            self.failed.emit(self.tr("No application here opens email links: write to {email}").format(email=p.email))

    def _ask_note(self, person: PersonRow) -> str | None:
        question = self.tr("What was done for {name}?").format(name=person.name)
        if person.note:
            question += "\n" + self.tr("They said: “{note}”").format(note=person.note)
        return ask_note(self, self.tr("Mark the help request handled"), question,
                        self.tr("e.g. Called, fire warden with them at the car park"), self.tr("Mark handled"))

    def mark_handled(self) -> None:
        p, incident_id = self.selected_person(), self.incident_id
        if p is None or incident_id is None or not p.help_open:
            return
        note = self.ask_note(p)
        if not note:
            return
        db, actor, email = self.db, self.actor, p.email
        text = self.tr("Help request of {name} marked handled").format(name=p.name)
        self._run(lambda: incidents.handle(db, incident_id, email, note, actor), lambda _r: self.done.emit(text))

    def reopen(self) -> None:
        p, incident_id = self.selected_person(), self.incident_id
        if p is None or incident_id is None or p.help is None or p.help.state is not HelpState.HANDLED:
            return
        db, actor, email = self.db, self.actor, p.email
        text = self.tr("Help request of {name} reopened").format(name=p.name)
        self._run(lambda: incidents.reopen(db, incident_id, email, actor), lambda _r: self.done.emit(text))

    def close_incident(self) -> None:
        """Close without an all-clear: what it would leave behind is read first, then asked about."""
        incident_id = self.incident_id
        if incident_id is None:
            return
        db = self.db
        self._run(lambda: incidents.close_check(db, incident_id), lambda counts: self._close(incident_id, counts))

    def _close(self, incident_id: int, counts: PictureCounts) -> None:
        title = self.tr("Close the incident")
        reason: str | None = None
        if counts.needs_help_open or counts.unaccounted:
            reason = (self.confirm_close(title, left_behind(self, counts, self.tr("Closing"))) or "").strip() or None
            if reason is None:
                self.done.emit(self.tr("Incident not closed"))
                return
        elif not self.confirm(title, self.tr("Close the incident without an all-clear? Nobody is told.")):
            return
        db, actor, force = self.db, self.actor, reason is not None
        self._run(lambda: incidents.close(db, incident_id, actor, force=force, reason=reason),
                  lambda _r: self.done.emit(self.tr("Incident {id} closed").format(id=incident_id)))

    def _run(self, job: Callable[[], _T], then: Callable[[_T], None]) -> None:
        self.busy = True
        self._show_person()

        def finished(result: _T) -> None:
            self.busy = False
            self._show_person()
            then(result)
            self.refresh()

        def failed(exc: Exception) -> None:
            self.busy = False
            self._show_person()
            self.failed.emit(describe(exc))

        self.tasks.run(job, finished, failed)
