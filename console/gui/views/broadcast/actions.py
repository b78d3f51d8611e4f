"""What the broadcasts view's buttons do: remind, update, all-clear, cancel pending.

Each asks first (through the view's replaceable `confirm` / `ask_follow_up`
hooks), then calls the same services as the CLI (console.services.broadcasts)
in a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPushButton

from console.broadcast.errors import BroadcastError
from console.gui.bridge import Bridge
from console.gui.tasks import TaskRunner, describe
from console.gui.views.broadcast.incident_panel import left_behind
from console.services import broadcasts, incidents
from console.services.broadcasts import BroadcastRequest, BroadcastStatus, FollowUpBase, Reminded, SendResult
from console.services.incidents import PictureCounts, UnsafeClose
from console.storage import Database
from console.vocabulary import BroadcastKind

log = logging.getLogger("console.gui.broadcasts")


class ActionsHost(Protocol):
    """What the actions need of the dashboard (console.gui.views.broadcast.dashboard.BroadcastsView)."""

    db: Database
    actor: str
    tasks: TaskRunner
    bridge: Bridge
    broadcast_id: int | None
    status: BroadcastStatus | None
    remind_button: QPushButton
    cancel_button: QPushButton
    update_button: QPushButton
    all_clear_button: QPushButton
    confirm: Callable[[str, str], bool]
    ask_follow_up: Callable[[BroadcastKind, FollowUpBase], tuple[str, str] | None]
    confirm_close: Callable[[str, str], str | None]

    def refresh(self) -> None: ...
    def select_broadcast(self, broadcast_id: int) -> None: ...
    def select_incident(self, incident_id: int, latest: int | None = None) -> None: ...
    def _update_buttons(self) -> None: ...
    def _show_error(self, text: str) -> None: ...


class BroadcastActions(QObject):
    """Runs the view's actions for the broadcast it shows.

    Signals:
        done(str): an action completed; the text says what happened.
        failed(str): an action failed; the text is for a person.
    """

    done = Signal(str)
    failed = Signal(str)

    def __init__(self, view: ActionsHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.busy = False
        view.remind_button.clicked.connect(self.remind)
        view.cancel_button.clicked.connect(self.cancel_pending)
        view.update_button.clicked.connect(lambda: self.follow_up(BroadcastKind.UPDATE))
        view.all_clear_button.clicked.connect(lambda: self.follow_up(BroadcastKind.ALL_CLEAR))
        self.done.connect(view.bridge.status_message)
        self.failed.connect(view._show_error)

    def _run(self, job: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self.busy = True
        self.view._update_buttons()

        def finished(result: object) -> None:
            self.busy = False
            done(result)
            self.view.refresh()

        def failed(exc: Exception) -> None:
            self.busy = False
            self.view._update_buttons()
            self.failed.emit(describe(exc))

        self.view.tasks.run(job, finished, failed)

    def remind(self) -> None:
        st, bid = self.view.status, self.view.broadcast_id
        if st is None or bid is None:
            return
        silent = st.recipients - st.acknowledged
        if not self.view.confirm(self.tr("Remind"), self.tr(
                "Send a reminder to the {n} people who have not answered “{title}”? "
                "They get the same personal link again.").format(n=silent, title=st.title)):
            return
        db, actor = self.view.db, self.view.actor

        def reminded(r: Reminded) -> None:
            self.done.emit(self.tr("Reminding {people} people ({deliveries} messages queued)").format(
                people=r.people, deliveries=r.deliveries))

        self._run(lambda: broadcasts.remind(db, bid, actor), reminded)

    def cancel_pending(self) -> None:
        st, bid = self.view.status, self.view.broadcast_id
        if st is None or bid is None:
            return
        if not self.view.confirm(self.tr("Cancel pending"), self.tr(
                "Stop the {n} messages of “{title}” not sent yet? Messages already sent stay sent.").format(
                n=st.pending, title=st.title)):
            return
        db, actor = self.view.db, self.view.actor
        self._run(lambda: broadcasts.cancel(db, bid, actor), lambda n: self.done.emit(
            self.tr("Broadcast {id} cancelled: {n} pending messages stopped").format(id=bid, n=n)))

    def follow_up(self, kind: BroadcastKind) -> None:
        """Read what the broadcast was sent to, ask for the text, send into the same incident."""
        bid = self.view.broadcast_id
        if bid is None:
            return
        db = self.view.db
        self._run(lambda: broadcasts.follow_up_base(db, bid), lambda base: self._ask(kind, base))

    def _ask(self, kind: BroadcastKind, base: FollowUpBase) -> None:
        answer = self.view.ask_follow_up(kind, base)
        if answer is None:
            self.view._update_buttons()
            return
        title, body = answer
        try:
            req = broadcasts.follow_up_request(base, kind, title, body)
        except BroadcastError as exc:
            self.failed.emit(str(exc))
            return
        db, actor = self.view.db, self.view.actor
        if kind is BroadcastKind.ALL_CLEAR:
            incident = base.incident_id
            self._run(lambda: incidents.close_check(db, incident), lambda counts: self._clear(req, counts))
            return
        self._run(lambda: broadcasts.send(db, req, actor), self._sent)

    def _clear(self, req: BroadcastRequest, counts: PictureCounts) -> None:
        """The all-clear closes the incident: with help requests open or people unaccounted for, it
        says how many and needs an explicit confirmation with a reason (audited); cancelled, nothing is sent."""
        reason = None
        if counts.needs_help_open or counts.unaccounted:
            reason = self._reason(counts.needs_help_open, counts.no_answer, counts.unreachable)
            if reason is None:
                return
        db, actor = self.view.db, self.view.actor

        def job() -> SendResult | UnsafeClose:
            try:
                return broadcasts.send(db, req, actor, force=reason is not None, reason=reason)
            except UnsafeClose as exc:  # someone asked for help since the check: ask again with the new counts
                return exc

        def done(result: SendResult | UnsafeClose) -> None:
            if isinstance(result, UnsafeClose):
                self._clear(req, PictureCounts(needs_help_open=result.open_help, no_answer=result.no_answer,
                                               unreachable=result.unreachable))
            else:
                self._sent(result)

        self._run(job, done)

    def _reason(self, open_help: int, no_answer: int, unreachable: int) -> str | None:
        """Ask to close over people left behind; the reason given, or None (cancelled)."""
        counts = PictureCounts(needs_help_open=open_help, no_answer=no_answer, unreachable=unreachable)
        question = left_behind(self.view.all_clear_button, counts, self.tr("The all-clear"))
        reason = self.view.confirm_close(self.tr("Send the all-clear with people left behind?"), question)
        reason = (reason or "").strip() or None
        if reason is None:
            self.view._update_buttons()
            self.done.emit(self.tr("All-clear not sent"))
        return reason

    def _sent(self, result: SendResult) -> None:
        self.view.bridge.broadcast_created.emit(result.broadcast_id)
        self.view.select_incident(result.incident_id, result.broadcast_id)  # the picture: who still needs help
        self.done.emit(self.tr("Broadcast {id} queued: {n} recipients").format(
            id=result.broadcast_id, n=result.recipients))
