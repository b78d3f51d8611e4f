"""Broadcasts view: incidents list, progress, answers chart, recipients table and its filters, actions.

Deliveries and answers are written to the database as the dispatcher and the
acknowledgement service would; the view must find them on its own reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select, update

from console.acks.recorder import AnswerRequest, GroupCommitRecorder
from console.broadcast.outbox import cancel
from console.broadcast.reminders import remind
from console.broadcast.send import SAFETY_CHECK, BroadcastRequest, create_broadcast
from console.gui.bridge import Bridge
from console.gui.models.broadcast_tree import BroadcastTreeModel
from console.gui.models.recipients import RecipientsFilter, RecipientsModel
from console.gui.tasks import TaskRunner
from console.gui.views.broadcast.dashboard import BroadcastsView
from console.models import Broadcast, Delivery, Incident, Recipient, utcnow
from console.services.live import PersonDelivery, RecipientRow, load_changes, load_recipients, load_tree
from console.storage import Database
from tests.helpers.gui import ACTOR, seed

pytestmark = pytest.mark.gui


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    seed(database, 8)
    yield database
    database.dispose()


def send(db: Database, **fields: object) -> int:
    req = BroadcastRequest(**{"title": "Fire alarm", "body": "Leave now.", "groups": ["all"],
                              "options": list(SAFETY_CHECK), **fields})  # type: ignore[arg-type]
    box = db.secrets
    with db.write() as session:
        return create_broadcast(session, box, req, ACTOR).broadcast_id


def deliver(db: Database, broadcast_id: int, sent: int, failed: int = 0) -> None:
    """Mark deliveries as the dispatcher would: the first `sent` sent, the next `failed` failed."""
    with db.write() as session:
        ids = list(session.scalars(select(Delivery.id).where(Delivery.broadcast_id == broadcast_id)
                                   .order_by(Delivery.id)))
        if sent:
            session.execute(update(Delivery).where(Delivery.id.in_(ids[:sent]))
                            .values(state="sent", sent_at=utcnow(), attempts=1))
        if failed:
            session.execute(update(Delivery).where(Delivery.id.in_(ids[sent:sent + failed]))
                            .values(state="failed", attempts=5, last_error="SMTP 550: mailbox unavailable"))


def answer(db: Database, broadcast_id: int, answers: dict[int, str]) -> None:
    """Record answers by position among the recipients, through the acknowledgement service's writer."""
    with db.read() as session:
        ids = list(session.scalars(select(Recipient.id).where(Recipient.broadcast_id == broadcast_id)
                                   .order_by(Recipient.id)))
    recorder = GroupCommitRecorder(db)
    recorder.start()
    try:
        for position, text in answers.items():
            recorder.record(AnswerRequest(ids[position], text, "192.0.2.1"))
    finally:
        recorder.stop()


@pytest.fixture
def view(qtbot: QtBot, db: Database) -> Iterator[BroadcastsView]:
    tasks, bridge = TaskRunner(), Bridge()
    widget = BroadcastsView(db, ACTOR, tasks, bridge)
    widget.confirm = lambda title, text: pytest.fail(f"unexpected question: {text}")
    qtbot.addWidget(widget)
    yield widget
    widget.timer.stop()
    tasks.wait_idle(10_000)


def show(qtbot: QtBot, view: BroadcastsView, broadcast_id: int) -> None:
    with qtbot.waitSignal(view.detail_applied, timeout=10_000, check_params_cb=lambda b: b == broadcast_id):
        view.select_broadcast(broadcast_id)


def refreshed(qtbot: QtBot, view: BroadcastsView, condition: Callable[[], bool]) -> None:
    """Ask for a read (as a bridge signal would) until the view shows what `condition` expects."""
    def check() -> bool:
        if not condition():
            view.bridge.answers_recorded.emit(view.broadcast_id or 0)
            return False
        return True

    qtbot.waitUntil(check, timeout=10_000)


def test_progress_answers_and_filters(qtbot: QtBot, view: BroadcastsView, db: Database) -> None:
    bid = send(db)
    deliver(db, bid, sent=5, failed=2)
    answer(db, bid, {0: "I'm safe", 1: "I need help", 2: "I'm safe"})
    show(qtbot, view, bid)

    bars = view.bars
    assert (bars["delivered"].value(), bars["delivered"].maximum()) == (5, 8)
    assert (bars["failed"].value(), bars["pending"].value()) == (2, 1)
    assert (bars["answered"].value(), bars["answered"].maximum()) == (3, 8)
    assert "I need help: 1" in view.answers_label.text()
    assert view.chart.series_names() == ["I'm safe", "I need help"]
    assert view.chart.points("I'm safe")[-1][1] == 2

    table = view.recipients
    assert table.rowCount() == 8
    failed_row = table.row(5)
    assert (failed_row.state, failed_row.error) == ("failed", "SMTP 550: mailbox unavailable")
    assert table.index(1, RecipientsModel.ANSWER).data() == "I need help"
    assert table.index(1, RecipientsModel.ANSWERED_AT).data()

    counts = {}
    for i, mode in enumerate(RecipientsFilter.MODES):
        view.filter_box.setCurrentIndex(i)
        counts[mode] = view.proxy.rowCount()
    assert counts == {"all": 8, "no_answer": 5, "needs_help": 1, "failed": 2}
    view.filter_box.setCurrentIndex(2)
    assert view.proxy.index(0, RecipientsModel.EMAIL).data() == table.row(1).email
    assert "1 of 8 people shown" in view.shown_label.text()


def test_table_updates_in_place_while_answers_arrive(qtbot: QtBot, view: BroadcastsView, db: Database) -> None:
    bid = send(db)
    show(qtbot, view, bid)
    assert view.recipients.rowCount() == 8 and view.bars["pending"].value() == 8
    view.filter_box.setCurrentIndex(RecipientsFilter.MODES.index("needs_help"))
    assert view.proxy.rowCount() == 0
    changed: list[tuple[int, int]] = []
    view.recipients.dataChanged.connect(lambda top, bottom, *_: changed.append((top.row(), bottom.row())))
    deliver(db, bid, sent=8)
    answer(db, bid, {6: "I need help"})
    with qtbot.assertNotEmitted(view.recipients.modelReset):
        refreshed(qtbot, view, lambda: view.proxy.rowCount() == 1 and view.bars["delivered"].value() == 8)
    assert changed and min(top for top, _ in changed) == 0 and max(bottom for _, bottom in changed) == 7
    assert view.recipients.row(6).answer == "I need help"
    assert view.proxy.index(0, RecipientsModel.NAME).data() == view.recipients.row(6).name


def test_sorting_keeps_live_rows_in_order(qtbot: QtBot, view: BroadcastsView, db: Database) -> None:
    bid = send(db)
    show(qtbot, view, bid)
    view.table.sortByColumn(RecipientsModel.ANSWER, Qt.SortOrder.DescendingOrder)
    answer(db, bid, {3: "I'm safe"})
    refreshed(qtbot, view, lambda: view.recipients.row(0).answer == "I'm safe")  # descending: answers first
    assert view.proxy.index(0, RecipientsModel.ANSWER).data() == "I'm safe"


def test_incidents_group_their_broadcasts(qtbot: QtBot, view: BroadcastsView, db: Database) -> None:
    first = send(db, title="Flood in the basement")
    with qtbot.waitSignal(view.tree_applied, timeout=10_000):
        view.refresh()
    second = send(db, title="Flood: stay upstairs", kind="update", incident_id=1)
    other = send(db, title="Network outage", exercise=True)
    with qtbot.waitSignal(view.tree_applied, timeout=10_000):
        view.bridge.broadcast_created.emit(other)
    model = view.tree_model
    assert model.rowCount() == 2
    newest, oldest = model.index(0, 0), model.index(1, 0)
    assert newest.data() == "[EXERCISE] Network outage"
    assert [model.index(r, 0, oldest).data() for r in range(model.rowCount(oldest))] == [
        "Flood in the basement", "Flood: stay upstairs"]
    assert model.index_of_broadcast(second).parent() == oldest
    assert model.index_of_broadcast(first).row() == 0


def test_incremental_reads_agree_with_a_full_read(db: Database) -> None:
    bid = send(db)
    rows, mark = load_recipients(db, bid)
    known = {r.id: r for r in rows}
    deliver(db, bid, sent=3, failed=1)
    answer(db, bid, {0: "I'm safe"})
    with db.write() as session:  # one delivery fails once and waits for its retry
        first_pending = session.scalar(select(func.min(Delivery.id)).where(Delivery.state == "pending"))
        session.execute(update(Delivery).where(Delivery.id == first_pending)
                        .values(attempts=1, last_error="SMTP 451: try again later"))
    changed, mark = load_changes(db, bid, mark, known)
    known.update({r.id: r for r in changed})
    assert len(changed) == 5 and known == {r.id: r for r in load_recipients(db, bid)[0]}
    assert {r.state for r in changed} == {"sent", "failed", "retrying"}

    with db.write() as session:
        remind(session, bid, ACTOR)  # reminders get new, higher ids
        cancel(session, bid, ACTOR)
    answer(db, bid, {0: "I need help", 7: "I'm safe"})  # a changed answer and a new one
    changed, mark = load_changes(db, bid, mark, known)
    known.update({r.id: r for r in changed})
    assert known == {r.id: r for r in load_recipients(db, bid)[0]}
    assert known[rows[0].id].answer == "I need help" and known[rows[7].id].answer == "I'm safe"
    assert load_changes(db, bid, mark, known)[0] == []  # nothing left in flight: nothing to read


def test_an_incremental_read_looks_only_at_what_changed_lately(db: Database) -> None:
    """Its cost follows what changed, not the audience: a change stamped well before the last
    read is not looked at again (the periodic full read would catch one that committed that late)."""
    bid = send(db)
    rows, mark = load_recipients(db, bid)
    known = {r.id: r for r in rows}
    deliver(db, bid, sent=2)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with db.write() as session:  # a change whose stamp is older than the last read's mark
        late = session.scalar(select(func.max(Delivery.id)).where(Delivery.broadcast_id == bid))
        session.execute(update(Delivery).where(Delivery.id == late).values(state="failed", last_error="refused",
                                                                           changed_at=long_ago))
    mark = replace(mark, changed_at=long_ago + dt.timedelta(minutes=1))  # as if read a minute after it
    changed, mark = load_changes(db, bid, mark, known)
    assert sorted(r.state for r in changed) == ["sent", "sent"]  # the late one is not looked at
    full = {r.id: r for r in load_recipients(db, bid)[0]}
    assert sum(1 for r in full.values() if r.state == "failed") == 1  # a full read has it


def test_what_the_margin_brings_back_unchanged_is_not_read_again(db: Database) -> None:
    """Right after a send every delivery is within the margin; an incremental read then asks for
    no one's deliveries (the per-recipient queries are the cost of a read), until one changes."""
    from sqlalchemy import event

    bid = send(db)
    rows, mark = load_recipients(db, bid)
    known = {r.id: r for r in rows}
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        changed, mark = load_changes(db, bid, mark, known)
        assert changed == [] and not any("GROUP BY deliveries.recipient_id" in s for s in statements)
        deliver(db, bid, sent=1)
        statements.clear()
        changed, mark = load_changes(db, bid, mark, known)
        assert [r.state for r in changed] == ["sent"]
        assert any("GROUP BY deliveries.recipient_id" in s for s in statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def test_models_pass_the_model_tester(qtmodeltester: ModelTester, db: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    rows = [RecipientRow(i, f"Person {i}", f"p{i}@example.org", PersonDelivery.PENDING, "", "", None)
            for i in range(1, 6)]
    model = RecipientsModel()
    model.set_rows(1, rows)
    proxy = RecipientsFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(model)
    model.apply([rows[1]._replace(state=PersonDelivery.SENT, answer="I need help", answered_at=now),
                 rows[4]._replace(state=PersonDelivery.FAILED, error="refused")])
    model.sort(RecipientsModel.STATE)
    proxy.set_mode("needs_help")
    qtmodeltester.check(model)
    qtmodeltester.check(proxy)

    send(db, title="Tree")
    tree = BroadcastTreeModel()
    tree.update(load_tree(db))
    send(db, title="Update", kind="update", incident_id=1)
    send(db, title="Another")
    tree.update(load_tree(db))
    qtmodeltester.check(tree)


def test_remind_cancel_update_and_all_clear(qtbot: QtBot, view: BroadcastsView, db: Database) -> None:
    bid = send(db)
    deliver(db, bid, sent=3)
    answer(db, bid, {0: "I'm safe"})
    show(qtbot, view, bid)
    questions: list[str] = []

    def confirm(title: str, text: str) -> bool:
        questions.append(text)
        return True

    view.confirm = confirm

    assert view.remind_button.isEnabled()
    with qtbot.waitSignal(view.operations.done, timeout=10_000) as done:
        view.remind_button.click()
    assert "7 people" in questions[-1] and "Reminding 7 people" in done.args[0]
    with db.read() as session:
        assert session.scalar(select(func.count()).where(Delivery.broadcast_id == bid,
                                                         Delivery.reminder.is_(True))) == 7

    refreshed(qtbot, view, lambda: view.cancel_button.isEnabled() and not view.operations.busy)
    with qtbot.waitSignal(view.operations.done, timeout=10_000):
        view.cancel_button.click()
    with db.read() as session:
        assert session.scalar(select(Broadcast.state).where(Broadcast.id == bid)) == "cancelled"
        assert session.scalar(select(func.count()).where(Delivery.state == "pending")) == 0

    view.ask_follow_up = lambda kind, base: ("Update: all out", "Everyone is outside.")
    refreshed(qtbot, view, lambda: view.update_button.isEnabled())
    with qtbot.waitSignal(view.bridge.broadcast_created, timeout=10_000) as created:
        view.update_button.click()
    update_id = created.args[0]
    qtbot.waitUntil(lambda: view.broadcast_id == update_id, timeout=10_000)

    view.ask_follow_up = lambda kind, base: ("All clear", "Back to work.") if kind == "all_clear" else None
    view.confirm_close = lambda title, text: "drill over" if "7 people are unaccounted for" in text else None
    refreshed(qtbot, view, lambda: view.all_clear_button.isEnabled() and not view.operations.busy)
    with qtbot.waitSignal(view.bridge.broadcast_created, timeout=10_000) as created:
        view.all_clear_button.click()
    with db.read() as session:
        kinds = session.execute(select(Broadcast.kind, Broadcast.incident_id).order_by(Broadcast.id)).all()
        assert kinds == [("alert", 1), ("update", 1), ("all_clear", 1)]
        assert session.scalar(select(Incident.state)) == "closed"
        assert session.scalar(select(func.count()).where(Recipient.broadcast_id == created.args[0])) == 8
    refreshed(qtbot, view, lambda: view.broadcast_id == created.args[0] and not view.update_button.isEnabled())


def test_another_console_on_the_same_database_is_seen(qtbot: QtBot, db_url: str) -> None:
    """No bridge signal crosses consoles: the view's own timed reads must find the other's work."""
    mine, theirs = Database(db_url), Database(db_url)
    try:
        seed(mine, 4)
        tasks, bridge = TaskRunner(), Bridge()
        view = BroadcastsView(mine, ACTOR, tasks, bridge)
        qtbot.addWidget(view)
        view.show()
        bid = send(theirs, title="Sent from the other console")
        qtbot.waitUntil(lambda: view.broadcast_id == bid, timeout=10_000)
        answer(theirs, bid, {2: "I need help"})
        qtbot.waitUntil(lambda: view.recipients.rowCount() == 4 and view.recipients.row(2).answer == "I need help",
                        timeout=10_000)
        assert view.tree_model.index(0, 0).data() == "Sent from the other console"
        view.timer.stop()
        tasks.wait_idle(10_000)
    finally:
        mine.dispose()
        theirs.dispose()
