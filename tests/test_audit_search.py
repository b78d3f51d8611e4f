"""Audit filters by incident, broadcast and person, on entries written by the real code paths
(send, dispatcher, answer writer, help requests, directory), checked against a reading of every
entry's JSON in Python; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from console import audit
from console.audit.chain import CANON_JCS, CANON_LEGACY, canonical, details_text, entry_hash, now_text
from console.audit.log import HEAD_SETTING
from console.audit.search import AuditFilter, AuditRow, entries_for, search
from console.audit.verify import verify
from console.broadcast.dispatcher import DispatchConfig, Dispatcher
from console.mailsink import MailSink
from console.services import incidents
from console.services.broadcasts import SendResult
from console.storage import Database, open_database
from console.vocabulary import BroadcastKind
from tests.helpers.gui import seed
from tests.helpers.incidents import alert, answer, follow_up


@pytest.fixture
def story(db_url: str, mail_sink: MailSink) -> Iterator[tuple[Database, SendResult, SendResult, SendResult]]:
    """Eleven people; incident 1 = an alert (delivered by a real dispatcher) and its update,
    incident 2 = another alert; answers, a help request worked by an officer."""
    db = open_database(db_url)
    try:
        seed(db, 11, smtp_port=mail_sink.port)
        first = alert(db)
        dispatcher = Dispatcher(db, DispatchConfig(processes=0, workers=2)).start()
        try:
            assert dispatcher.run_until_done(timeout=60)
        finally:
            dispatcher.stop()
        update = follow_up(db, first.broadcast_id, BroadcastKind.UPDATE)
        other = alert(db, groups=("London",), title="Flood in the car park")
        answer(db, first.broadcast_id, "person1@example.org", "I need help", note="Room 3")
        answer(db, update.broadcast_id, "person11@example.org", "I'm safe")
        answer(db, other.broadcast_id, "person2@example.org", "I'm safe")
        incidents.handle(db, first.incident_id, "person1@example.org", "Called, first aider sent", "officer-a")
        yield db, first, update, other
    finally:
        db.dispose()


def everything(db: Database) -> list[AuditRow]:
    with db.read() as session:
        return entries_for(session, AuditFilter())


def matching(db: Database, flt: AuditFilter) -> list[int]:
    with db.read() as session:
        return [r.seq for r in entries_for(session, flt)]


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def oracle(db: Database, keep: Callable[[AuditRow, dict[str, Any]], bool]) -> list[int]:
    return [r.seq for r in everything(db) if keep(r, json.loads(r.details))]


def names_broadcast(row: AuditRow, details: dict[str, Any], ids: set[int]) -> bool:
    return row.subject in {f"broadcast {b}" for b in ids} or details.get("broadcast") in ids


def test_broadcast_filter_finds_its_sends_deliveries_answers_and_help(
        story: tuple[Database, SendResult, SendResult, SendResult]) -> None:
    db, first, update, other = story
    seqs = matching(db, AuditFilter(broadcast_id=first.broadcast_id))
    assert seqs == oracle(db, lambda r, d: names_broadcast(r, d, {first.broadcast_id}))
    actions = {r.action for r in everything(db) if r.seq in seqs}
    assert {"broadcast.alert", "delivery.sent", "broadcast.completed", "ack.answer", "help.opened"} <= actions
    assert sum(1 for r in everything(db) if r.seq in seqs and r.action == "delivery.sent") == 11
    assert not set(seqs) & set(matching(db, AuditFilter(broadcast_id=other.broadcast_id)))
    assert matching(db, AuditFilter(broadcast_id=999)) == []


def test_incident_filter_takes_every_broadcast_of_it_and_the_incident_entries(
        story: tuple[Database, SendResult, SendResult, SendResult]) -> None:
    db, first, update, other = story
    ours = {first.broadcast_id, update.broadcast_id}
    seqs = matching(db, AuditFilter(incident_id=first.incident_id))
    assert seqs == oracle(db, lambda r, d: names_broadcast(r, d, ours) or r.subject == f"incident {first.incident_id}"
                          or d.get("incident") == first.incident_id)
    actions = {r.action for r in everything(db) if r.seq in seqs}
    assert {"broadcast.alert", "broadcast.update", "delivery.sent", "ack.answer", "help.opened",
            "help.handled"} <= actions
    theirs = matching(db, AuditFilter(incident_id=other.incident_id))
    assert theirs and not set(seqs) & set(theirs)
    both = matching(db, AuditFilter(incident_id=first.incident_id, broadcast_id=update.broadcast_id))
    assert both and set(both) < set(seqs) and both == matching(db, AuditFilter(broadcast_id=update.broadcast_id))


def test_person_filter_by_email_name_or_any_case_and_never_a_namesake_prefix(
        story: tuple[Database, SendResult, SendResult, SendResult]) -> None:
    db, first, update, other = story
    email = "person1@example.org"
    seqs = matching(db, AuditFilter(person=email))
    assert seqs == oracle(db, lambda r, d: email in (r.actor, r.subject) or email in set(strings(d)))
    actions = {r.action for r in everything(db) if r.seq in seqs}
    assert {"contacts.add", "delivery.sent", "ack.answer", "help.opened", "help.handled"} <= actions
    assert matching(db, AuditFilter(person="PERSON 1")) == seqs  # the full name, any case
    assert matching(db, AuditFilter(person=" Person1@Example.ORG ")) == seqs
    eleven = matching(db, AuditFilter(person="person11@example.org"))
    assert eleven and not set(eleven) & set(seqs)  # person1 is no prefix match of person11
    assert matching(db, AuditFilter(person="Person 1", incident_id=other.incident_id)) == []
    assert matching(db, AuditFilter(person="nobody@example.org")) == []


def test_numbers_match_whole_and_text_inside_strings_never_does(db_url: str) -> None:
    db = open_database(db_url)
    try:
        with db.write() as session:
            audit.append(session, "t", "x.one", "outbox", {"broadcast": 1, "n": 2})
            audit.append(session, "t", "x.twelve", "outbox", {"broadcast": 12})
            audit.append(session, "t", "x.quoted", "outbox", {"note": '"broadcast":1,"x":1'})
            audit.append(session, "t", "x.last", "outbox", {"z": 0, "broadcast": 1})
            audit.append(session, "t", "x.subject", "broadcast 1", {})
            audit.append(session, "t", "x.subject12", "broadcast 12", {})
        assert matching(db, AuditFilter(broadcast_id=1)) == [1, 4, 5]
        with db.engine.begin() as conn:  # a tampered row whose details are not JSON: still readable
            conn.execute(text("UPDATE audit_log SET details = 'not json {' WHERE seq = 2"))
        assert matching(db, AuditFilter(broadcast_id=12)) == [6]
        assert matching(db, AuditFilter(person="t")) == [1, 2, 3, 4, 5, 6]
    finally:
        db.dispose()


def test_entries_written_before_rfc8785_match_the_same_way(db_url: str) -> None:
    """A database from before this version: its entries are in the legacy canonical form (canon 1)."""
    db = open_database(db_url)
    try:
        with db.write() as session:
            audit.append(session, "t", "x.new", "broadcast 3", {"ms": 532.0})
        old = [("dispatcher", "delivery.sent", "delivery 9", {"broadcast": 3, "address": "Zoë@example.org",
                                                               "ms": 532.0}),
               ("zoë@example.org", "ack.answer", "broadcast 4", {"email": "zoë@example.org", "answer": "I'm safe"})]
        with db.engine.begin() as conn:
            prev = conn.execute(text("SELECT hash FROM audit_log WHERE seq = 1")).scalar_one()
            for seq, (actor, action, subject, details) in enumerate(old, start=2):
                stamp = now_text()
                digest = entry_hash(prev, canonical(seq, stamp, actor, action, subject, details, CANON_LEGACY))
                conn.execute(text("INSERT INTO audit_log (seq, time, actor, action, subject, details, prev_hash, "
                                  "hash, canon) VALUES (:s, :t, :a, :c, :u, :d, :p, :h, 1)"),
                             {"s": seq, "t": stamp, "a": actor, "c": action, "u": subject, "p": prev, "h": digest,
                              "d": details_text(details, CANON_LEGACY)})
                prev = digest
            conn.execute(text("UPDATE settings SET value = :v WHERE key = :k"), {"v": f"3:{prev}", "k": HEAD_SETTING})
        with db.read() as session:
            assert verify(session).ok
            rows = entries_for(session, AuditFilter(broadcast_id=3))
        assert [(r.seq, r.canon) for r in rows] == [(1, CANON_JCS), (2, CANON_LEGACY)]
        assert matching(db, AuditFilter(person="zoë@example.org")) == [2, 3]  # "Zoë" in one: ASCII case folded
    finally:
        db.dispose()


def test_rows_carry_hashes_oldest_first_and_pages_newest_first(
        story: tuple[Database, SendResult, SendResult, SendResult]) -> None:
    db, first, update, other = story
    rows = everything(db)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert all(b.prev_hash == a.hash and len(b.hash) == 64 for a, b in zip(rows, rows[1:], strict=False))
    assert {r.canon for r in rows} == {2}
    flt = AuditFilter(incident_id=first.incident_id)
    with db.read() as session:
        page1 = search(session, flt, limit=5)
        page2 = search(session, flt, before_seq=page1[-1].seq, limit=5)
        whole = entries_for(session, flt)
    assert [r.seq for r in page1 + page2] == [r.seq for r in reversed(whole)][:10]
    assert page1[0] == whole[-1]  # the same row either way, hashes included
