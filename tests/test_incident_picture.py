"""The incident picture (console.services.incidents) on a real database: every person across all messages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, insert, select, update

from console.channelstore import save_channel
from console.models import Contact, HelpRequest, Recipient, utcnow
from console.services import incidents
from console.services.incidents import IncidentNotFound, PersonRow
from console.storage import Database
from console.vocabulary import AnswerSource, BroadcastKind, DeliveryState, HelpState, IncidentState, PersonStatus
from tests.helpers.gui import ACTOR, seed, seed_contacts
from tests.helpers.incidents import alert, answer, deliver, follow_up


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    try:
        seed(database, 4, sms=True)  # person1..4@example.org; even ones have a phone
        yield database
    finally:
        database.dispose()


def by_email(people: tuple[PersonRow, ...]) -> dict[str, PersonRow]:
    return {p.email: p for p in people}


def test_an_answer_on_the_update_settles_the_alert(db: Database) -> None:
    first = alert(db, channels=["Corp mail"])
    update_ = follow_up(db, first.broadcast_id, BroadcastKind.UPDATE)
    deliver(db, first.broadcast_id, DeliveryState.SENT)
    answer(db, update_.broadcast_id, "person1@example.org", "I'm safe")
    answer(db, first.broadcast_id, "person3@example.org", "I'm safe")

    pic = incidents.incident_picture(db, first.incident_id)
    people = by_email(pic.people)
    assert [(b.id, b.kind) for b in pic.broadcasts] == [(first.broadcast_id, BroadcastKind.ALERT),
                                                        (update_.broadcast_id, BroadcastKind.UPDATE)]
    one = people["person1@example.org"]
    assert (one.status, one.answer, one.broadcast_id, one.source) == (
        PersonStatus.SAFE, "I'm safe", update_.broadcast_id, AnswerSource.PERSONAL)
    assert one.answered_at is not None and one.help is None
    assert people["person3@example.org"].status is PersonStatus.SAFE
    assert {p.status for e, p in people.items() if e in ("person2@example.org", "person4@example.org")} == {
        PersonStatus.NO_ANSWER}
    # deliveries per channel, across both messages: the alert's went out, the update's wait
    assert [(c.channel, c.state, c.deliveries) for c in people["person2@example.org"].channels] == [
        ("Corp mail", DeliveryState.SENT, 2)]
    assert people["person2@example.org"].phone == "+447700900102" and people["person1@example.org"].phone is None
    c = pic.incident.counts
    assert (c.people, c.safe, c.no_answer, c.needs_help, c.unreachable) == (4, 2, 2, 0, 0)
    assert pic.incident.messages == 2 and pic.incident.state is IncidentState.OPEN


def test_needs_help_on_the_alert_stays_after_an_update_until_handled(db: Database) -> None:
    first = alert(db, channels=["Corp mail"])
    update_ = follow_up(db, first.broadcast_id, BroadcastKind.UPDATE)
    answer(db, first.broadcast_id, "person2@example.org", "I need help", note="Stuck in lift 3")
    answer(db, update_.broadcast_id, "person2@example.org", "I'm safe")  # says so later; still needs checking

    person = by_email(incidents.incident_picture(db, first.incident_id).people)["person2@example.org"]
    assert (person.status, person.answer, person.broadcast_id) == (
        PersonStatus.NEEDS_HELP, "I'm safe", update_.broadcast_id)
    assert person.note == "Stuck in lift 3" and person.phone == "+447700900102"
    assert person.help is not None and person.help.state is HelpState.OPEN and person.help_open
    pic = incidents.incident_picture(db, first.incident_id)
    assert pic.people[0].email == "person2@example.org"  # needs help first
    assert pic.incident.counts.needs_help_open == 1

    incidents.handle(db, first.incident_id, "person2@example.org", "Facilities freed the lift", ACTOR)
    person = by_email(incidents.incident_picture(db, first.incident_id).people)["person2@example.org"]
    assert person.status is PersonStatus.SAFE  # handled, and the latest answer is "I'm safe"
    assert person.help is not None and person.help.state is HelpState.HANDLED
    assert (person.help.handled_by, person.help.handled_note) == (ACTOR, "Facilities freed the lift")


def test_handled_but_still_answering_needs_help_is_counted_as_handled(db: Database) -> None:
    first = alert(db, channels=["Corp mail"])
    answer(db, first.broadcast_id, "person4@example.org", "I need help")
    incidents.handle(db, first.incident_id, 4, "Paramedic on the way", ACTOR)  # a contact id works too
    pic = incidents.incident_picture(db, first.incident_id)
    assert pic.people[0].email == "person4@example.org"
    assert pic.people[0].status is PersonStatus.NEEDS_HELP and not pic.people[0].help_open
    c = pic.incident.counts
    assert (c.needs_help_open, c.needs_help_handled, c.no_answer) == (0, 1, 3)


def test_people_no_channel_reached_are_unreachable(db: Database) -> None:
    texts = alert(db, channels=["Texts"])  # odd people have no phone: not reachable on it at all
    deliver(db, texts.broadcast_id, DeliveryState.FAILED, ("person2@example.org",))
    deliver(db, texts.broadcast_id, DeliveryState.SENT, ("person4@example.org",))
    people = by_email(incidents.incident_picture(db, texts.incident_id).people)
    assert people["person1@example.org"].status is PersonStatus.UNREACHABLE
    assert people["person1@example.org"].name == "Person 1" and people["person1@example.org"].contact_id == 1
    assert people["person1@example.org"].channels == ()
    assert people["person2@example.org"].status is PersonStatus.UNREACHABLE
    assert [(c.channel, c.state) for c in people["person2@example.org"].channels] == [("Texts", DeliveryState.FAILED)]
    assert people["person4@example.org"].status is PersonStatus.NO_ANSWER
    answer(db, texts.broadcast_id, "person2@example.org", "I'm safe")  # reached another way after all
    pic = incidents.incident_picture(db, texts.incident_id)
    assert by_email(pic.people)["person2@example.org"].status is PersonStatus.SAFE
    assert [p.status for p in pic.people] == [PersonStatus.UNREACHABLE, PersonStatus.UNREACHABLE,
                                              PersonStatus.NO_ANSWER, PersonStatus.SAFE]
    c = pic.incident.counts
    assert (c.people, c.unreachable, c.no_answer, c.safe, c.unaccounted) == (4, 2, 1, 1, 3)


def test_the_list_counts_people_per_incident(db: Database) -> None:
    first = alert(db, channels=["Corp mail"])
    follow_up(db, first.broadcast_id, BroadcastKind.UPDATE)
    second = alert(db, groups=("Leeds",), channels=["Corp mail"])
    answer(db, second.broadcast_id, "person1@example.org", "I need help")
    listed = incidents.incident_list(db)
    assert [(i.id, i.messages, i.counts.people) for i in listed] == [(second.incident_id, 1, 2),
                                                                     (first.incident_id, 2, 4)]
    assert listed[0].counts.needs_help_open == 1 and listed[1].counts.needs_help_open == 0
    assert listed[0].as_json()["counts"] == {"people": 2, "needs_help_open": 1, "needs_help_handled": 0,
                                             "safe": 0, "no_answer": 1, "unreachable": 0}


def test_unknown_incident(db: Database) -> None:
    with pytest.raises(IncidentNotFound, match="no incident with id 42"):
        incidents.incident_picture(db, 42)
    assert incidents.incident_list(db) == []


def test_ten_thousand_people_in_a_few_queries(sqlite_url: str) -> None:
    """10,000 people, an alert and an update: the picture costs a fixed handful of statements."""
    db = Database(sqlite_url)
    try:
        seed_contacts(db, 10_000)
        box = db.secrets
        with db.write() as session:
            save_channel(session, box, ACTOR, name="Corp mail", kind="email",
                         url="mailto://127.0.0.1:9?from=alerts@example.org&to={address}&mode=insecure")
        first = alert(db)
        update_ = follow_up(db, first.broadcast_id, BroadcastKind.UPDATE)
        now = utcnow()
        with db.write() as session:  # answers and help requests in bulk, as a crowd would leave them
            ids = list(session.execute(select(Recipient.id, Recipient.email, Recipient.contact_id)
                                       .where(Recipient.broadcast_id == first.broadcast_id)
                                       .order_by(Recipient.id)))
            safe = [rid for n, (rid, _e, _c) in enumerate(ids) if n % 2 == 0]
            helped = [(rid, email, cid) for n, (rid, email, cid) in enumerate(ids) if n % 100 == 1]
            session.execute(update(Recipient).where(Recipient.id.in_(safe))
                            .values(answer="I'm safe", answered_at=now, answer_source="link"))
            session.execute(update(Recipient).where(Recipient.id.in_([h[0] for h in helped]))
                            .values(answer="I need help", answered_at=now, answer_source="link", needs_help=True,
                                    answer_note="Car park level 2"))
            session.execute(insert(HelpRequest), [
                {"incident_id": first.incident_id, "contact_id": cid, "email": email, "recipient_id": rid,
                 "state": "open", "opened_at": now} for rid, email, cid in helped])
        statements: list[str] = []

        def count(conn: object, cursor: object, statement: str, *args: object) -> None:
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            pic = incidents.incident_picture(db, first.incident_id)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(statements) <= 12, statements
        c = pic.incident.counts
        assert (c.people, c.safe, c.needs_help_open, c.no_answer) == (10_000, 5_000, 100, 4_900)
        assert [p.status for p in pic.people[:100]] == [PersonStatus.NEEDS_HELP] * 100
        assert pic.people[0].note == "Car park level 2" and pic.people[0].phone is not None
        assert all(p.channels[0].deliveries == 2 for p in pic.people)  # the alert's and the update's
        assert {b.recipients for b in pic.broadcasts} == {10_000}
        assert update_.recipients == 10_000
        with db.read() as session:
            assert session.scalar(select(Contact.id).where(Contact.email == pic.people[0].email)) == \
                pic.people[0].contact_id
    finally:
        db.dispose()
