"""What the broadcasts view's buttons do: remind, update, all-clear, cancel pending.

Each asks first (through the view's replaceable `confirm` / `ask_follow_up`
hooks), then calls the same services as the CLI in a worker.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from console.broadcast.errors import BroadcastError
from console.broadcast.outbox import cancel
from console.broadcast.reminders import remind
from console.broadcast.send import (
    BroadcastRequest,
    SendResult,
    check_request,
    create_broadcast,
)
from console.gui.tasks import describe
from console.gui.views.broadcast_data import FollowUpBase, follow_up_base

if TYPE_CHECKING:
    from console.gui.views.broadcasts import BroadcastsView

log = logging.getLogger("console.gui.broadcasts")


class BroadcastActions(QObject):
    """Runs the view's actions for the broadcast it shows.

    Signals:
        done(str): an action completed; the text says what happened.
        failed(str): an action failed; the text is for a person.
    """

    done = Signal(str)
    failed = Signal(str)

    def __init__(self, view: BroadcastsView) -> None:
        super().__init__(view)
        self.view = view
        self.busy = False
        view.remind_button.clicked.connect(self.remind)
        view.cancel_button.clicked.connect(self.cancel_pending)
        view.update_button.clicked.connect(lambda: self.follow_up("update"))
        view.all_clear_button.clicked.connect(lambda: self.follow_up("all_clear"))
        self.done.connect(view.bridge.status_message)
        self.failed.connect(view._show_error)

    def _run(self, job, done) -> None:  # type: ignore[no-untyped-def]
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

        def job() -> tuple[int, int]:
            with db.write() as session:
                return remind(session, bid, actor)

        self._run(job, lambda r: self.done.emit(
            self.tr("Reminding {people} people ({deliveries} messages queued)").format(
                people=r[0], deliveries=r[1])))

    def cancel_pending(self) -> None:
        st, bid = self.view.status, self.view.broadcast_id
        if st is None or bid is None:
            return
        if not self.view.confirm(self.tr("Cancel pending"), self.tr(
                "Stop the {n} messages of “{title}” not sent yet? Messages already sent stay sent.").format(
                n=st.pending, title=st.title)):
            return
        db, actor = self.view.db, self.view.actor

        def job() -> int:
            with db.write() as session:
                return cancel(session, bid, actor)

        self._run(job, lambda n: self.done.emit(
            self.tr("Broadcast {id} cancelled: {n} pending messages stopped").format(id=bid, n=n)))

    def follow_up(self, kind: str) -> None:
        """Read what the broadcast was sent to, ask for the text, send into the same incident."""
        bid = self.view.broadcast_id
        if bid is None:
            return
        db = self.view.db
        self._run(lambda: follow_up_base(db, bid), lambda base: self._ask(kind, base))

    def _ask(self, kind: str, base: FollowUpBase) -> None:
        answer = self.view.ask_follow_up(kind, base)
        if answer is None:
            self.view._update_buttons()
            return
        title, body = answer
        try:
            req = check_request(BroadcastRequest(
                title=title, body=body, groups=base.groups, contact_ids=base.contact_ids,
                channels=base.channels or None, severity=base.severity if kind == "update" else "info",
                exercise=base.exercise, incident_id=base.incident_id, kind=kind))
        except BroadcastError as exc:
            self.failed.emit(str(exc))
            return
        db, actor = self.view.db, self.view.actor

        def job() -> SendResult:
            box = db.secrets  # before the write: loading the key may write its check value
            with db.write() as session:
                return create_broadcast(session, box, req, actor)

        self._run(job, self._sent)

    def _sent(self, result: SendResult) -> None:
        self.view.bridge.broadcast_created.emit(result.broadcast_id)
        self.view.select_broadcast(result.broadcast_id)
        self.done.emit(self.tr("Broadcast {id} queued: {n} recipients").format(
            id=result.broadcast_id, n=result.recipients))
