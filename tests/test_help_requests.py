"""Help requests: opened by a help answer in the writer's transaction, handled and reopened by an officer,
each step audited with its actor; the guarded all-clear and close."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from console.acks.answers import HELP_OPENED_ACTION, HELP_REOPENED_ACTION
from console.incident.guard import CLOSE_ACTION
from console.incident.helprequests import HANDLED_ACTION
from console.models import AuditEntry, HelpRequest, Incident
from console.services import audit as audit_service
from console.services import incidents
from console.services.incidents import IncidentError, IncidentNotFound, UnsafeClose
from console.storage import Database
from console.vocabulary import AnswerSource, BroadcastKind, HelpState, IncidentState, PersonStatus
from tests.helpers.gui import ACTOR, seed
from tests.helpers.incidents import alert, answer, follow_up, recipient_id


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    try:
        seed(database, 4)
        yield database
    finally:
        database.dispose()


def entries(db: Database, *actions: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    with db.read() as session:
        rows = session.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.subject, AuditEntry.details)
                               .where(AuditEntry.action.in_(actions)).order_by(AuditEntry.seq)).all()
    return [(a, act, s, json.loads(d)) for a, act, s, d in rows]


def help_rows(db: Database) -> list[tuple[int, str, str, int | None]]:
    with db.read() as session:
        return [(r.incident_id, r.email, r.state, r.recipient_id) for r in session.execute(
            select(HelpRequest.incident_id, HelpRequest.email, HelpRequest.state, HelpRequest.recipient_id)
            .order_by(HelpRequest.id))]


def test_a_help_answer_opens_one_request_per_person_and_incident(db: Database) -> None:
    first = alert(db)
    update_ = follow_up(db, first.broadcast_id, BroadcastKind.UPDATE)
    answer(db, first.broadcast_id, "person1@example.org", "I need help", note="Room 3")
    answer(db, update_.broadcast_id, "person1@example.org", "I need help")  # again, on the update: still one
    answer(db, first.broadcast_id, "person2@example.org", "I'm safe")
    opened_by = recipient_id(db, first.broadcast_id, "person1@example.org")
    assert help_rows(db) == [(first.incident_id, "person1@example.org", HelpState.OPEN, opened_by)]
    ((actor, action, subject, details),) = entries(db, HELP_OPENED_ACTION, HELP_REOPENED_ACTION)
    assert (actor, action, subject) == ("person1@example.org", HELP_OPENED_ACTION, f"incident {first.incident_id}")
    assert (details["answer"], details["note"], details["broadcast"], details["by"]) == (
        "I need help", "Room 3", first.broadcast_id, "answer")
    assert audit_service.verify(db).ok


def test_a_self_report_that_applies_opens_one_but_one_that_does_not_changes_nothing(db: Database) -> None:
    first = alert(db)
    answer(db, first.broadcast_id, "person3@example.org", "I need help", source=AnswerSource.GROUP)
    assert [r[1:3] for r in help_rows(db)] == [("person3@example.org", HelpState.OPEN)]
    incidents.handle(db, first.incident_id, "person3@example.org", "Called: false alarm", ACTOR)
    answer(db, first.broadcast_id, "person4@example.org", "I'm safe")  # a personal answer in force ...
    answer(db, first.broadcast_id, "person4@example.org", "I need help", source=AnswerSource.GROUP)  # ... stays
    assert [r[1:3] for r in help_rows(db)] == [("person3@example.org", HelpState.HANDLED)]


def test_handle_and_reopen_are_audited_with_the_officer(db: Database) -> None:
    first = alert(db)
    answer(db, first.broadcast_id, "person2@example.org", "I need help", note="Ankle, car park B")
    handled = incidents.handle(db, first.incident_id, "Person2@Example.org ", "Called, first aider sent", "officer-a")
    assert (handled.state, handled.handled_by, handled.handled_note) == (
        HelpState.HANDLED, "officer-a", "Called, first aider sent")
    reopened = incidents.reopen(db, first.incident_id, 2, "officer-b", note="She called back")
    assert reopened.state is HelpState.OPEN and reopened.handled_by is None
    got = entries(db, HANDLED_ACTION, HELP_REOPENED_ACTION)
    assert [(a, act) for a, act, _s, _d in got] == [("officer-a", HANDLED_ACTION), ("officer-b", HELP_REOPENED_ACTION)]
    assert got[0][3]["note"] == "Called, first aider sent" and got[0][3]["email"] == "person2@example.org"
    assert got[1][3]["note"] == "She called back" and got[1][3]["previous"]["handled_by"] == "officer-a"
    assert audit_service.verify(db).ok


def test_a_new_help_answer_reopens_a_handled_request(db: Database) -> None:
    first = alert(db)
    update_ = follow_up(db, first.broadcast_id, BroadcastKind.UPDATE)
    answer(db, first.broadcast_id, "person1@example.org", "I need help")
    incidents.handle(db, first.incident_id, "person1@example.org", "Escorted out", ACTOR)
    answer(db, update_.broadcast_id, "person1@example.org", "I need help", note="Dizzy now")
    assert [r[2] for r in help_rows(db)] == [HelpState.OPEN]
    *_, (actor, action, _s, details) = entries(db, HELP_OPENED_ACTION, HELP_REOPENED_ACTION)
    assert (actor, action, details["note"], details["by"]) == ("person1@example.org", HELP_REOPENED_ACTION,
                                                               "Dizzy now", "answer")
    person = incidents.incident_picture(db, first.incident_id).people[0]
    assert (person.email, person.status, person.note) == ("person1@example.org", PersonStatus.NEEDS_HELP,
                                                          "Dizzy now")


def test_bad_ids_and_people_are_user_errors(db: Database) -> None:
    first = alert(db)
    answer(db, first.broadcast_id, "person1@example.org", "I need help")
    with pytest.raises(IncidentNotFound, match="no incident with id 9"):
        incidents.handle(db, 9, "person1@example.org", "x", ACTOR)
    with pytest.raises(IncidentError, match="no contact with id 77"):
        incidents.handle(db, first.incident_id, "77", "x", ACTOR)
    with pytest.raises(IncidentError, match="neither a contact id nor an email"):
        incidents.handle(db, first.incident_id, "somebody", "x", ACTOR)
    with pytest.raises(IncidentError, match="person2@example.org has no help request"):
        incidents.handle(db, first.incident_id, "person2@example.org", "x", ACTOR)
    with pytest.raises(IncidentError, match="--note"):
        incidents.handle(db, first.incident_id, "person1@example.org", "  ", ACTOR)
    with pytest.raises(IncidentError, match="already open"):
        incidents.reopen(db, first.incident_id, "person1@example.org", ACTOR)
    incidents.handle(db, first.incident_id, "person1@example.org", "Done", ACTOR)
    with pytest.raises(IncidentError, match="already handled"):
        incidents.handle(db, first.incident_id, "person1@example.org", "Again", ACTOR)
    assert len(entries(db, HANDLED_ACTION)) == 1


def test_the_all_clear_is_refused_while_people_are_left_behind(db: Database) -> None:
    first = alert(db)
    answer(db, first.broadcast_id, "person1@example.org", "I need help")
    answer(db, first.broadcast_id, "person2@example.org", "I'm safe")
    with pytest.raises(UnsafeClose, match=r"1 open help request and 2 people unaccounted for "
                                          r"\(2 without an answer, 0 unreachable\)") as refused:
        follow_up(db, first.broadcast_id, BroadcastKind.ALL_CLEAR)
    assert (refused.value.open_help, refused.value.no_answer, refused.value.unreachable) == (1, 2, 0)
    with pytest.raises(IncidentError, match="--reason"):
        follow_up(db, first.broadcast_id, BroadcastKind.ALL_CLEAR, force=True, reason=" ")
    (only,) = incidents.incident_list(db)
    assert (only.state, only.messages) == (IncidentState.OPEN, 1)  # nothing was written

    clear = follow_up(db, first.broadcast_id, BroadcastKind.ALL_CLEAR, force=True, reason="Site evacuated; "
                      "wardens counted everyone at the assembly point")
    with db.read() as session:
        inc = session.get_one(Incident, first.incident_id)
        assert (inc.state, inc.closed_by, inc.close_reason) == (
            IncidentState.CLOSED, ACTOR, "Site evacuated; wardens counted everyone at the assembly point")
    ((actor, _action, subject, details),) = entries(db, CLOSE_ACTION)
    assert (actor, subject) == (ACTOR, f"incident {first.incident_id}")
    assert (details["forced"], details["needs_help_open"], details["no_answer"], details["broadcast"]) == (
        True, 1, 2, clear.broadcast_id)
    assert details["reason"].startswith("Site evacuated")
    # the all-clear keeps the person who needs help visible until handled, even after acknowledging it
    answer(db, clear.broadcast_id, "person1@example.org", "Acknowledge")
    pic = incidents.incident_picture(db, first.incident_id)
    assert (pic.people[0].email, pic.people[0].status, pic.people[0].answer) == (
        "person1@example.org", PersonStatus.NEEDS_HELP, "Acknowledge")
    assert pic.incident.counts.needs_help_open == 1
    incidents.handle(db, first.incident_id, "person1@example.org", "Met at the gate", ACTOR)
    assert incidents.incident_picture(db, first.incident_id).incident.counts.needs_help_open == 0


def test_an_all_clear_with_everyone_accounted_for_needs_no_force(db: Database) -> None:
    first = alert(db, groups=("Leeds",))
    for email in ("person1@example.org", "person3@example.org"):
        answer(db, first.broadcast_id, email, "I'm safe")
    follow_up(db, first.broadcast_id, BroadcastKind.ALL_CLEAR)
    (only,) = incidents.incident_list(db)
    assert (only.state, only.closed_by, only.close_reason) == (IncidentState.CLOSED, ACTOR, None)
    ((_a, _act, _s, details),) = entries(db, CLOSE_ACTION)
    assert details["forced"] is False


def test_close_without_an_all_clear_is_guarded_too(db: Database) -> None:
    first = alert(db, groups=("London",))
    assert incidents.close_check(db, first.incident_id).no_answer == 2
    with pytest.raises(UnsafeClose):
        incidents.close(db, first.incident_id, ACTOR)
    check = incidents.close(db, first.incident_id, ACTOR, force=True, reason="Drill ended early")
    assert check.blocked and check.forced
    with pytest.raises(IncidentError, match="already closed"):
        incidents.close(db, first.incident_id, ACTOR, force=True, reason="again")
    (only,) = incidents.incident_list(db)
    assert (only.state, only.close_reason) == (IncidentState.CLOSED, "Drill ended early")
