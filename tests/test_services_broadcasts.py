"""The broadcast use cases (console.services.broadcasts, audience, live) on a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from console.broadcast.errors import BroadcastError, BroadcastNotFound
from console.models import Delivery, Recipient, utcnow
from console.services import audience, broadcasts, live
from console.services.broadcasts import BroadcastRequest
from console.storage import Database
from console.vocabulary import BroadcastKind, BroadcastState, ChannelKind, DeliveryState, IncidentState, Severity
from tests.helpers.gui import ACTOR, seed


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    try:
        seed(database, 4)
        yield database
    finally:
        database.dispose()


def _alert(db: Database, **extra: object) -> broadcasts.SendResult:
    req = BroadcastRequest(title="Fire", body="Leave now", groups=["Leeds"], severity=Severity.CRITICAL,
                           **extra)  # type: ignore[arg-type]
    return broadcasts.send(db, req, ACTOR)


def test_send_status_unsent_and_cancel(db: Database) -> None:
    sent = _alert(db)
    assert (sent.recipients, sent.deliveries) == (2, 2)  # Person 1 and 3 live in Leeds
    st = broadcasts.status(db, sent.broadcast_id)
    assert (st.state, st.pending, st.severity) == (BroadcastState.SENDING, 2, Severity.CRITICAL)
    assert broadcasts.unsent(db, sent.broadcast_id) == 2
    assert broadcasts.cancel(db, sent.broadcast_id, ACTOR) == 2
    st = broadcasts.status(db, sent.broadcast_id)
    assert (st.state, st.pending, st.cancelled) == (BroadcastState.CANCELLED, 0, 2)
    assert broadcasts.unsent(db, sent.broadcast_id) == 0
    with pytest.raises(BroadcastError, match="cancelled"):
        broadcasts.remind(db, sent.broadcast_id, ACTOR)


def test_bad_input_writes_nothing(db: Database) -> None:
    with pytest.raises(BroadcastError, match="--title"):
        broadcasts.send(db, BroadcastRequest(title=" ", body="x", groups=["Leeds"]), ACTOR)
    with pytest.raises(BroadcastNotFound):
        broadcasts.status(db, 99)
    with pytest.raises(BroadcastNotFound):
        broadcasts.follow_up_base(db, 99)
    assert live.load_tree(db) == ()


def test_answer_options() -> None:
    assert broadcasts.answer_options() == (["Acknowledge"], [])
    assert broadcasts.answer_options(["Out", "Stuck"], ["Stuck"]) == (["Out", "Stuck"], ["Stuck"])
    assert broadcasts.answer_options((), ["Help!"]) == (["Help!"], ["Help!"])
    assert broadcasts.answer_options(safety_check=True) == (["I'm safe", "I need help"], ["I need help"])
    with pytest.raises(BroadcastError, match="--safety-check"):
        broadcasts.answer_options(["Out"], safety_check=True)


def test_update_and_all_clear_follow_the_alert(db: Database) -> None:
    alert = _alert(db, channels=["Corp mail"])
    base = broadcasts.follow_up_base(db, alert.broadcast_id)
    assert (base.incident_id, base.groups, base.channels, base.severity) == (
        alert.incident_id, ("Leeds",), ("Corp mail",), Severity.CRITICAL)
    with pytest.raises(BroadcastError):
        broadcasts.follow_up_request(base, BroadcastKind.ALERT, "Again", "Again")
    update_req = broadcasts.follow_up_request(base, BroadcastKind.UPDATE, "Update", "Still burning")
    assert (update_req.severity, update_req.incident_id) == (Severity.CRITICAL, alert.incident_id)
    broadcasts.send(db, update_req, ACTOR)
    clear = broadcasts.send(db, broadcasts.follow_up_request(base, BroadcastKind.ALL_CLEAR, "All clear", "Back in"),
                            ACTOR, force=True, reason="nobody answers in this test")
    assert clear.incident_id == alert.incident_id
    (incident,) = live.load_tree(db)
    assert incident.state == IncidentState.CLOSED
    assert [(b.kind, b.severity) for b in incident.broadcasts] == [
        (BroadcastKind.ALERT, Severity.CRITICAL), (BroadcastKind.UPDATE, Severity.CRITICAL),
        (BroadcastKind.ALL_CLEAR, Severity.INFO)]


def test_remind_reaches_the_silent_and_reports_only_its_own_failures(db: Database) -> None:
    sent = _alert(db)
    with db.write() as session:
        first = session.scalars(select(Recipient).where(Recipient.broadcast_id == sent.broadcast_id)
                                .order_by(Recipient.id)).first()
        assert first is not None
        first.answer, first.answered_at = "Acknowledge", utcnow()
        session.execute(update(Delivery).where(Delivery.broadcast_id == sent.broadcast_id)
                        .values(state=DeliveryState.FAILED, last_error="relay said no", attempts=1))
    assert live.silent_count(db, sent.broadcast_id) == 1
    reminded = broadcasts.remind(db, sent.broadcast_id, ACTOR)
    assert (reminded.people, reminded.deliveries) == (1, 1)
    assert len(broadcasts.failures(db, sent.broadcast_id)) == 2
    assert broadcasts.failure_report(db, sent.broadcast_id, reminded.after_id).failed == ()
    with db.write() as session:
        session.execute(update(Delivery).where(Delivery.id > reminded.after_id)
                        .values(state=DeliveryState.FAILED, last_error="still no", attempts=1))
    report = broadcasts.failure_report(db, sent.broadcast_id, reminded.after_id)
    assert [f.reminder for f in report.failed] == [True]
    assert [(c.channel, c.failed, c.last_error) for c in report.channels] == [("Corp mail", 1, "still no")]


def test_compose_choices_and_count(db: Database) -> None:
    choices = audience.load_choices(db)
    assert [c.key for c in choices.groups] == ["all", "Leeds", "London"]  # "all" holds everyone
    assert len(choices.contacts) == 4
    assert [(c.key, c.kind) for c in choices.channels] == [("Corp mail", ChannelKind.EMAIL)]
    count = audience.count_audience(db, ["London"], [1], ["Corp mail"])
    assert (count.recipients, count.deliveries, count.problem) == (3, 3, None)
    assert audience.count_audience(db, ["Nowhere"], [], ["Corp mail"]).problem
