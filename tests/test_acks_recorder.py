"""The group-commit writer: batches, order within a batch, one audit chain with everyone else, failures."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text

from console import audit
from console.acks.answers import Outcome
from console.acks.errors import RecipientGone, RecorderUnavailable
from console.acks.recorder import AUDIT_ACTION, AnswerRequest, GroupCommitRecorder, PendingAnswer
from console.bench.acks import Seeded, seed_broadcast
from console.models import AuditEntry, Recipient
from console.storage import Database, open_database


def answered(pending: PendingAnswer, timeout: float) -> Outcome:
    """An answer's outcome (the recorder's futures also carry barriers, whose result is None)."""
    outcome = pending.result(timeout)
    assert outcome is not None
    return outcome


@pytest.fixture
def seeded_db(db_url: str) -> Iterator[tuple[Database, Seeded, list[int]]]:
    db = open_database(db_url)
    seeded = seed_broadcast(db, 60)
    with db.read() as session:
        ids = list(session.scalars(select(Recipient.id).where(Recipient.broadcast_id == seeded.broadcast_id)
                                   .order_by(Recipient.id)))
    yield db, seeded, ids
    db.dispose()


@pytest.fixture
def recorder(seeded_db: tuple[Database, Seeded, list[int]]) -> Iterator[GroupCommitRecorder]:
    rec = GroupCommitRecorder(seeded_db[0])
    rec.start()
    yield rec
    rec.stop()


def entries(db: Database) -> list[dict[str, Any]]:
    with db.read() as session:
        rows = session.scalars(select(AuditEntry.details).where(AuditEntry.action == AUDIT_ACTION)
                               .order_by(AuditEntry.seq)).all()
    return [json.loads(r) for r in rows]


def test_concurrent_answers_share_transactions(seeded_db: tuple[Database, Seeded, list[int]],
                                               recorder: GroupCommitRecorder) -> None:
    db, _seeded, ids = seeded_db
    start = threading.Barrier(len(ids))
    outcomes = []

    def answer(rid: int) -> None:
        start.wait()
        outcomes.append(recorder.record(AnswerRequest(rid, "I'm safe", "192.0.2.1")))

    threads = [threading.Thread(target=answer, args=(rid,)) for rid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.recipient_id for o in outcomes) == ids
    assert recorder.answers == len(ids) and recorder.batches < len(ids)
    assert len({o.audit_seq for o in outcomes}) == len(ids)
    with db.read() as session:
        assert audit.verify(session).ok
        assert set(session.scalars(select(Recipient.answer))) == {"I'm safe"}


def test_answers_for_one_person_within_a_batch_apply_in_order(seeded_db: tuple[Database, Seeded, list[int]],
                                                             recorder: GroupCommitRecorder) -> None:
    db, _seeded, ids = seeded_db
    futures = [recorder.submit(AnswerRequest(ids[0], answer, "192.0.2.1"))
               for answer in ("I need help", "I'm safe", "I need help")]
    results = [answered(f, 10) for f in futures]
    assert [(r.previous, r.answer) for r in results] == [(None, "I need help"), ("I need help", "I'm safe"),
                                                         ("I'm safe", "I need help")]
    assert [(e["previous"], e["answer"]) for e in entries(db)] == [(r.previous, r.answer) for r in results]
    with db.read() as session:
        assert session.scalar(select(Recipient.answer).where(Recipient.id == ids[0])) == "I need help"


def test_the_writer_and_other_writers_keep_one_chain(seeded_db: tuple[Database, Seeded, list[int]],
                                                    recorder: GroupCommitRecorder) -> None:
    """Answers interleaved with ordinary audited actions (another connection, the ORM) stay one chain."""
    db, _seeded, ids = seeded_db
    stop = threading.Event()

    def other_actions() -> None:
        n = 0
        while not stop.is_set():
            with db.write() as session:
                audit.append(session, "officer", "settings.set", "org.name", {"n": n})
            n += 1

    side = threading.Thread(target=other_actions)
    side.start()
    try:
        for f in [recorder.submit(AnswerRequest(rid, "I'm safe", "192.0.2.1")) for rid in ids]:
            f.result(30)
    finally:
        stop.set()
        side.join()
    with db.read() as session:
        result = audit.verify(session)
    assert result.ok, result.message()
    assert len(entries(db)) == len(ids)


def test_a_deleted_recipient_fails_alone(seeded_db: tuple[Database, Seeded, list[int]],
                                         recorder: GroupCommitRecorder) -> None:
    _db, _seeded, ids = seeded_db
    gone = recorder.submit(AnswerRequest(10**9, "I'm safe", "192.0.2.1"))
    fine = recorder.submit(AnswerRequest(ids[1], "I'm safe", "192.0.2.1"))
    with pytest.raises(RecipientGone):
        gone.result(10)
    assert answered(fine, 10).answer == "I'm safe"


def test_stop_commits_what_is_queued_then_refuses(seeded_db: tuple[Database, Seeded, list[int]]) -> None:
    db, _seeded, ids = seeded_db
    rec = GroupCommitRecorder(db)
    rec.start()
    futures = [rec.submit(AnswerRequest(rid, "I'm safe", "192.0.2.1")) for rid in ids]
    rec.stop()
    assert all(answered(f, 0).answer == "I'm safe" for f in futures)
    assert not rec.alive
    with pytest.raises(RecorderUnavailable, match="not running"):
        rec.record(AnswerRequest(ids[0], "I'm safe", "192.0.2.1"))


def test_a_bad_answer_in_a_batch_does_not_sink_the_others(pg_url: str) -> None:
    """PostgreSQL refuses an answer longer than its column; the rest of the batch is retried and kept."""
    db = open_database(pg_url)
    seeded = seed_broadcast(db, 5)
    with db.read() as session:
        ids = list(session.scalars(select(Recipient.id).where(Recipient.broadcast_id == seeded.broadcast_id)))
    rec = GroupCommitRecorder(db)
    rec.start()
    try:
        futures = [rec.submit(AnswerRequest(rid, "x" * 500 if i == 2 else "I'm safe", "192.0.2.1"))
                   for i, rid in enumerate(ids)]
        with pytest.raises(RecorderUnavailable, match="database failed"):
            futures[2].result(30)
        assert [answered(f, 30).answer for i, f in enumerate(futures) if i != 2] == ["I'm safe"] * 4
        with db.read() as session:
            assert audit.verify(session).ok
        # The writer reconnects and goes on after a failure.
        assert rec.record(AnswerRequest(ids[2], "I'm safe", "192.0.2.1")).previous is None
    finally:
        rec.stop()
        db.dispose()


def test_a_timed_out_caller_gets_an_error_in_words(seeded_db: tuple[Database, Seeded, list[int]]) -> None:
    db, _seeded, ids = seeded_db
    rec = GroupCommitRecorder(db)
    rec.start()
    try:
        with db.write() as session:  # holds the write lock (SQLite) / the audit table (PostgreSQL)
            conn = session.connection()
            if db.dialect == "postgresql":
                conn.execute(text("LOCK TABLE audit_log IN EXCLUSIVE MODE"))
            with pytest.raises(RecorderUnavailable, match="not recorded within 0 s"):
                rec.record(AnswerRequest(ids[0], "I'm safe", "192.0.2.1"), timeout=0.3)
    finally:
        rec.stop()
