"""Counts in people: a reminder or a second channel adds messages, never people.

Deliveries are marked as the dispatcher would mark them; the counts are read through
the service both faces use, and through `crisis-console status`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, update

from console.channelstore import save_channel
from console.models import Delivery, Recipient, utcnow
from console.services import broadcasts
from console.storage import Database, open_database
from console.vocabulary import DeliveryState
from tests.helpers.gui import ACTOR, seed

if TYPE_CHECKING:
    from tests.conftest import CliRunner


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.dispose()


def send(db: Database, **fields: object) -> int:
    req = broadcasts.BroadcastRequest(**{"title": "Fire alarm", "body": "Leave now.", "groups": ["all"],
                                         **fields})  # type: ignore[arg-type]
    return broadcasts.send(db, req, ACTOR).broadcast_id


def mark(db: Database, broadcast_id: int, state: DeliveryState, *, emails: list[str] | None = None,
         reminders: bool | None = None, group_posts: bool = False) -> None:
    """Set deliveries' state as the dispatcher would: by person, first messages or reminders, or group posts."""
    with db.write() as session:
        query = select(Delivery.id).where(Delivery.broadcast_id == broadcast_id)
        if group_posts:
            query = query.where(Delivery.group_link_id.is_not(None))
        else:
            query = query.where(Delivery.recipient_id.is_not(None))
        if emails is not None:
            query = query.join(Recipient, Recipient.id == Delivery.recipient_id).where(Recipient.email.in_(emails))
        if reminders is not None:
            query = query.where(Delivery.reminder.is_(reminders))
        ids = list(session.scalars(query))
        session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(
            state=state.value, attempts=1, sent_at=utcnow() if state is DeliveryState.SENT else None))


def person(i: int) -> str:
    return f"person{i}@example.org"


def test_one_reminder_counts_each_person_once(db: Database) -> None:
    seed(db, 5)
    bid = send(db)
    mark(db, bid, DeliveryState.SENT)
    reminded = broadcasts.remind(db, bid, ACTOR)
    assert (reminded.people, reminded.deliveries) == (5, 5)

    st = broadcasts.status(db, bid)
    assert st.recipients == 5 and st.messages == 10  # two messages per person
    assert (st.sent, st.pending) == (5, 5)
    assert st.people.as_json() == {"total": 5, "reached": 5, "pending": 0, "failed": 0, "cancelled": 0}

    mark(db, bid, DeliveryState.SENT, reminders=True, emails=[person(1), person(2)])
    mark(db, bid, DeliveryState.FAILED, reminders=True, emails=[person(3), person(4), person(5)])
    st = broadcasts.status(db, bid)
    assert (st.messages, st.sent, st.failed, st.pending) == (10, 7, 3, 0)
    assert (st.people.total, st.people.reached, st.people.failed, st.people.not_reached) == (5, 5, 0, 0)
    data = st.as_json()
    assert data["recipients"] == 5 and data["sent"] == 7 and data["messages"] == 10  # the old keys stay
    assert data["people"]["reached"] == 5


def test_a_person_is_reached_when_any_message_went_out(db: Database) -> None:
    seed(db, 6, sms=True)  # even-numbered people have a phone: mail and a text each
    bid = send(db)
    mark(db, bid, DeliveryState.FAILED)  # every first message failed ...
    st = broadcasts.status(db, bid)
    assert (st.recipients, st.messages) == (6, 9)
    assert st.people.as_json() == {"total": 6, "reached": 0, "pending": 0, "failed": 6, "cancelled": 0}

    broadcasts.remind(db, bid, ACTOR)  # ... then reminders: pending again, not failed
    st = broadcasts.status(db, bid)
    assert st.messages == 18 and (st.people.pending, st.people.failed) == (6, 0)

    mark(db, bid, DeliveryState.SENT, reminders=True, emails=[person(2)])  # by mail and by text
    mark(db, bid, DeliveryState.FAILED, reminders=True, emails=[person(3), person(4)])
    broadcasts.cancel(db, bid, ACTOR)  # the others' reminders: what failed before stays failed
    st = broadcasts.status(db, bid)
    assert st.people.as_json() == {"total": 6, "reached": 1, "pending": 0, "failed": 5, "cancelled": 0}
    assert st.people.not_reached == 5

    untouched = send(db)
    broadcasts.cancel(db, untouched, ACTOR)
    assert broadcasts.status(db, untouched).people.as_json() == {
        "total": 6, "reached": 0, "pending": 0, "failed": 0, "cancelled": 6}


def test_people_reached_through_a_group_post_count(db: Database) -> None:
    seed(db, 6, sms=True)
    box = db.secrets
    with db.write() as session:
        save_channel(session, box, ACTOR, name="Leeds room", kind="group", group="Leeds",
                     url="json://127.0.0.1:9/room")
    bid = send(db, groups=["Leeds", "London"], channels=["Texts", "Leeds room"])  # Leeds people have no phone
    st = broadcasts.status(db, bid)
    assert (st.recipients, st.messages) == (6, 4)  # three texts to London, one post to Leeds
    assert (st.people.pending, st.people.reached) == (6, 0)
    mark(db, bid, DeliveryState.SENT, group_posts=True)
    st = broadcasts.status(db, bid)
    assert (st.people.reached, st.people.pending) == (3, 3)
    mark(db, bid, DeliveryState.SENT)
    assert broadcasts.status(db, bid).people.reached == 6


def test_status_command_says_people_and_messages(cli: CliRunner, db_url: str, db: Database) -> None:
    seed(db, 4)
    bid = send(db)
    mark(db, bid, DeliveryState.SENT)
    broadcasts.remind(db, bid, ACTOR)
    mark(db, bid, DeliveryState.FAILED, reminders=True, emails=[person(4)])

    out = cli("status", str(bid), "--json", db=db_url)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["recipients"], data["sent"], data["failed"], data["pending"]) == (4, 4, 1, 3)
    assert data["messages"] == 8
    assert data["people"] == {"total": 4, "reached": 4, "pending": 0, "failed": 0, "cancelled": 0}

    text = cli("status", str(bid), db=db_url).stdout
    assert "  4 people: all 4 reached" in text
    assert "  8 messages: 4 sent, 1 failed, 3 pending" in text
    assert "acknowledged 0 of 4 people" in text

    mark(db, bid, DeliveryState.FAILED, reminders=False)  # the reminders of 1-3 are still to be sent
    text = cli("status", str(bid), db=db_url).stdout
    assert "  4 people: 0 reached, 4 not reached yet (3 pending, 1 failed)" in text
