"""Automatic reminders, escalation and scheduled sends (console.broadcast.schedule) with a clock the
tests move: no sleeps. Each runs on SQLite and on PostgreSQL; "a restart" is a new Database and a
new `run_due` over the same data, and two dispatchers are two threads running `run_due` at once."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from console.broadcast import escalation, outbox
from console.broadcast.errors import BroadcastError
from console.broadcast.schedule import Round, run_due
from console.models import AuditEntry, Broadcast, Delivery, Incident
from console.services import broadcasts, schedules
from console.services.broadcasts import BroadcastRequest
from console.storage import Database
from console.vocabulary import BroadcastKind, BroadcastState, DeliveryState, IncidentState
from tests.helpers.followup import ACTOR, BOSS_A, BOSS_B, answer, directory_with_managers, mark_sent, reminders, started

N = 600  # remind every ten minutes
EMAILS = [f"person{i}@example.org" for i in range(1, 5)]


@pytest.fixture
def db(db_url: str, tmp_path: Path) -> Iterator[Database]:
    database = Database(db_url)
    directory_with_managers(database, tmp_path)
    yield database
    database.dispose()


def send(db: Database, **fields: Any) -> int:
    req = BroadcastRequest(title="Fire alarm", body="Leave by the nearest exit.", groups=["Staff"],
                           channels=["Corp mail"], **fields)
    return broadcasts.send(db, req, ACTOR).broadcast_id


def at(db: Database, bid: int, seconds: float) -> dt.datetime:
    return started(db, bid) + dt.timedelta(seconds=seconds)


def broadcast(db: Database, bid: int) -> Broadcast:
    with db.read() as session:
        found = session.get(Broadcast, bid)
        assert found is not None
        session.expunge(found)
        return found


def audit_details(db: Database, action: str) -> list[dict[str, Any]]:
    with db.read() as session:
        return [json.loads(d) for d in session.scalars(select(AuditEntry.details).where(AuditEntry.action == action)
                                                       .order_by(AuditEntry.seq))]


# --- reminders ------------------------------------------------------------------------

def test_reminders_fire_at_n_2n_up_to_k_with_the_fallback_from_the_second(db: Database) -> None:
    bid = send(db, remind_every_s=N, remind_max=3, fallback_channel="Texts")
    assert run_due(db, at(db, bid, N - 1)).reminded == []
    first = run_due(db, at(db, bid, N)).reminded
    assert first == [Round(bid, 1, 4, 4, False)]
    assert reminders(db, bid) == [(e, "Corp mail") for e in EMAILS]  # no fallback on the first reminder
    assert run_due(db, at(db, bid, N)).reminded == []  # the round is taken once

    mark_sent(db)
    answer(db, bid, "person1@example.org")
    assert run_due(db, at(db, bid, 2 * N - 1)).reminded == []
    second = run_due(db, at(db, bid, 2 * N)).reminded
    assert second == [Round(bid, 2, 3, 5, True)]
    assert sorted(reminders(db, bid)[4:]) == sorted(
        [(e, "Corp mail") for e in EMAILS[1:]] + [("person2@example.org", "Texts"), ("person4@example.org", "Texts")])

    mark_sent(db)
    assert [r.number for r in run_due(db, at(db, bid, 3 * N)).reminded] == [3]
    b = broadcast(db, bid)
    assert (b.reminders_sent, b.next_remind_at) == (3, None)  # K reached: no more
    mark_sent(db)
    assert run_due(db, at(db, bid, 10 * N)).reminded == []
    assert len(reminders(db, bid)) == 4 + 5 + 5


def test_a_restart_goes_on_without_a_double_reminder(db_url: str, db: Database) -> None:
    bid = send(db, remind_every_s=N, remind_max=3)
    assert [r.number for r in run_due(db, at(db, bid, N)).reminded] == [1]
    when = at(db, bid, N)
    mark_sent(db)
    db.dispose()

    again = Database(db_url)  # the dispatcher came back: nothing of the first is in memory
    try:
        assert run_due(again, when).reminded == []
        assert run_due(again, when + dt.timedelta(seconds=N - 1)).reminded == []
        assert len(reminders(again, bid)) == 4

        # Two dispatchers at the same moment: the second round is taken by one of them only.
        others = [Database(db_url), Database(db_url)]
        done: list[list[Round]] = []
        gate = threading.Barrier(2)

        def run(database: Database) -> None:
            gate.wait()
            done.append(run_due(database, when + dt.timedelta(seconds=N)).reminded)

        threads = [threading.Thread(target=run, args=(d,)) for d in others]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for d in others:
            d.dispose()
        assert sorted(len(r) for r in done) == [0, 1]
        assert len(reminders(again, bid)) == 8
        assert broadcast(again, bid).reminders_sent == 2
    finally:
        again.dispose()


def test_a_dispatcher_back_after_a_long_stop_sends_one_round_not_all_it_missed(db: Database) -> None:
    bid = send(db, remind_every_s=N, remind_max=5)
    late = at(db, bid, 10 * N + 7)
    assert [r.number for r in run_due(db, late).reminded] == [1]
    assert run_due(db, late).reminded == []
    b = broadcast(db, bid)
    assert b.next_remind_at is not None
    assert b.next_remind_at.replace(tzinfo=dt.UTC) == late + dt.timedelta(seconds=N)


def test_no_reminder_is_queued_for_someone_whose_reminder_is_still_waiting(db: Database) -> None:
    bid = send(db, remind_every_s=N, remind_max=3)
    mark_sent(db)
    first = broadcasts.remind(db, bid, ACTOR)  # no dispatcher runs: they stay pending
    assert (first.people, first.deliveries, first.skipped) == (4, 4, 0)
    second = broadcasts.remind(db, bid, ACTOR)
    assert (second.people, second.deliveries, second.skipped) == (0, 0, 4)
    assert second.after_id < min(_reminder_ids(db, bid))  # --wait reports on the waiting ones
    assert [r.deliveries for r in run_due(db, at(db, bid, N)).reminded] == [0]  # automatic: the same rule
    assert len(reminders(db, bid)) == 4

    mark_sent(db)
    answer(db, bid, "person4@example.org")
    third = broadcasts.remind(db, bid, ACTOR)
    assert (third.people, third.deliveries, third.skipped) == (3, 3, 0)
    assert [d["skipped_pending"] for d in audit_details(db, "broadcast.remind")] == [0, 4, 4, 0]
    assert [d.get("automatic", False) for d in audit_details(db, "broadcast.remind")] == [False, False, True, False]


def _reminder_ids(db: Database, bid: int) -> list[int]:
    with db.read() as session:
        return list(session.scalars(select(Delivery.id).where(Delivery.broadcast_id == bid,
                                                              Delivery.reminder.is_(True))))


def test_reminders_stop_when_everyone_answered(db: Database) -> None:
    bid = send(db, remind_every_s=N, remind_max=3)
    for email in EMAILS:
        answer(db, bid, email)
    work = run_due(db, at(db, bid, N))
    assert (work.reminded, work.stopped) == ([], [bid])
    assert broadcast(db, bid).next_remind_at is None and reminders(db, bid) == []
    assert [d["reason"] for d in audit_details(db, "broadcast.reminders_stopped")] == ["everyone answered"]


def test_an_answer_to_the_update_settles_the_alert(db: Database) -> None:
    bid = send(db, remind_every_s=N, remind_max=3)
    base = broadcasts.follow_up_base(db, bid)
    update_id = broadcasts.send(db, broadcasts.follow_up_request(base, BroadcastKind.UPDATE,
                                                                 "Update", "Still burning"), ACTOR).broadcast_id
    answer(db, update_id, "person2@example.org", "I'm safe")
    run_due(db, at(db, bid, N))
    assert sorted(e for e, _ in reminders(db, bid)) == ["person1@example.org", "person3@example.org",
                                                       "person4@example.org"]


def test_reminders_stop_when_the_incident_closes(db: Database) -> None:
    bid = send(db, remind_every_s=N, remind_max=3)
    assert len(run_due(db, at(db, bid, N)).reminded) == 1
    with db.write() as session:  # closed (the guarded close has tests of its own)
        incident_id = session.scalars(select(Broadcast.incident_id).where(Broadcast.id == bid)).one()
        session.execute(update(Incident).where(Incident.id == incident_id).values(state=IncidentState.CLOSED))
    work = run_due(db, at(db, bid, 2 * N))
    assert (work.reminded, work.stopped) == ([], [bid])
    assert len(reminders(db, bid)) == 4
    assert [d["reason"] for d in audit_details(db, "broadcast.reminders_stopped")] == ["the incident is closed"]


# --- escalation -----------------------------------------------------------------------

def test_escalation_reaches_each_manager_once_with_their_silent_people(db_url: str, db: Database) -> None:
    bid = send(db, escalate_after_s=1800)
    answer(db, bid, "person1@example.org")
    assert run_due(db, at(db, bid, 1799)).escalated == []
    (done,) = run_due(db, at(db, bid, 1800)).escalated
    assert done.managers == {BOSS_A: ["person2@example.org"], BOSS_B: ["person3@example.org"]}
    assert done.deliveries == 2
    assert run_due(db, at(db, bid, 3600)).escalated == []
    again = Database(db_url)
    try:
        assert run_due(again, at(db, bid, 7200)).escalated == []
    finally:
        again.dispose()
    with db.read() as session:
        queued = session.execute(select(Delivery.address, Delivery.recipient_id, Delivery.group_link_id)
                                 .where(Delivery.broadcast_id == bid, Delivery.address.like("boss%"))
                                 .order_by(Delivery.address)).all()
        assert [tuple(r) for r in queued] == [(BOSS_A, None, None), (BOSS_B, None, None)]
        text = escalation.message(session, bid, BOSS_A, kind="email", org_name="Acme", limits=None)
    assert "person2@example.org" in text.body and "person1@example.org" not in text.body
    assert "Fire alarm" in text.title and "1 of your people" in text.title
    (entry,) = audit_details(db, "broadcast.escalate")
    assert entry["managers"] == {BOSS_A: ["person2@example.org"], BOSS_B: ["person3@example.org"]}


def test_no_escalation_for_a_closed_incident(db: Database) -> None:
    bid = send(db, escalate_after_s=60)
    with db.write() as session:
        session.execute(update(Incident).values(state=IncidentState.CLOSED))
    assert run_due(db, at(db, bid, 3600)).escalated == []
    assert broadcast(db, bid).escalated_at is None


# --- scheduled sends ------------------------------------------------------------------

def claim(db: Database, now: dt.datetime) -> list[int]:
    with db.write() as session:
        return [c.broadcast_id for c in outbox.claim(session.connection(), "test:1:claimer", 100, now)]


def test_a_scheduled_send_goes_out_at_its_time_and_not_before(db: Database) -> None:
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).replace(microsecond=0)
    bid = send(db, scheduled_at=when, remind_every_s=N, remind_max=1)
    assert broadcasts.status(db, bid).state == BroadcastState.SCHEDULED
    assert claim(db, when - dt.timedelta(seconds=1)) == []
    assert claim(db, when + dt.timedelta(hours=1)) == []  # not released yet: never claimed
    assert run_due(db, when - dt.timedelta(seconds=1)).released == []
    assert broadcast(db, bid).state == BroadcastState.SCHEDULED

    assert run_due(db, when).released == [bid]
    assert run_due(db, when).released == []
    assert broadcast(db, bid).state == BroadcastState.SENDING
    assert claim(db, when - dt.timedelta(seconds=1)) == []
    assert claim(db, when) == [bid] * 4
    reminder_at = broadcast(db, bid).next_remind_at
    assert reminder_at is not None and reminder_at.replace(tzinfo=dt.UTC) == when + dt.timedelta(seconds=N)
    assert [d["at"] for d in audit_details(db, "broadcast.released")] == [when.isoformat(timespec="seconds")]


def test_cancelling_a_scheduled_send(db: Database) -> None:
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(microsecond=0)
    bid = send(db, scheduled_at=when, remind_every_s=N, escalate_after_s=60, fallback_channel="Texts")
    (listed,) = schedules.list_scheduled(db)
    assert (listed.broadcast_id, listed.scheduled_at, listed.recipients, listed.deliveries) == (bid, when, 4, 4)
    assert (listed.remind_every_s, listed.remind_max, listed.fallback_channel, listed.escalate_after_s) == (
        N, 3, "Texts", 60)

    assert schedules.cancel_scheduled(db, bid, ACTOR) == 4
    assert schedules.list_scheduled(db) == []
    assert broadcasts.status(db, bid).state == BroadcastState.CANCELLED
    with pytest.raises(BroadcastError, match="not scheduled"):
        schedules.cancel_scheduled(db, bid, ACTOR)
    work = run_due(db, when + dt.timedelta(hours=1))
    assert (work.released, work.reminded, work.escalated) == ([], [], [])
    assert claim(db, when + dt.timedelta(hours=1)) == []
    with db.read() as session:
        assert set(session.scalars(select(Delivery.state).where(Delivery.broadcast_id == bid))) == {
            DeliveryState.CANCELLED}
        assert session.scalars(select(Incident.state)).one() == IncidentState.CLOSED  # nothing of it was sent
    (cancelled,) = audit_details(db, "broadcast.cancel")
    assert cancelled == {"cancelled_deliveries": 4, "scheduled_at": when.isoformat(timespec="seconds")}

    now_bid = send(db)
    with pytest.raises(BroadcastError, match="not scheduled"):
        schedules.cancel_scheduled(db, now_bid, ACTOR)


@pytest.mark.parametrize(("fields", "needle"), [
    ({"scheduled_at": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)}, "--at: 2000-01-01T00:00:00+00:00 is in the past"),
    ({"remind_every_s": 0}, "--remind-every: must be at least 1 second"),
    ({"remind_max": 2}, "--remind-max: needs --remind-every"),
    ({"remind_every_s": 60, "remind_max": 0}, "--remind-max: must be between 1 and 20"),
    ({"fallback_channel": "Texts"}, "--fallback-channel: carries reminders"),
    ({"remind_every_s": 60, "fallback_channel": "Pager"}, "--fallback-channel: no channel named 'Pager'"),
    ({"escalate_after_s": 10 ** 7}, "--escalate-after: longer than a week"),
])
def test_bad_follow_through_settings_write_nothing(db: Database, fields: dict[str, Any], needle: str) -> None:
    with pytest.raises(BroadcastError) as caught:
        send(db, **fields)
    assert needle in str(caught.value)
    with db.read() as session:
        assert session.scalars(select(Broadcast.id)).all() == []
