"""Recording answers: one writer thread that commits many answers per transaction.

When a whole company answers within a minute, per-request transactions queue
behind the database's single write lock (SQLite) and the audit chain's lock
(both databases), so throughput collapses and the tail latency grows. Here the
request threads hand their answer to one writer and wait on a future (a
`PendingAnswer`); the writer takes everything that queued up while it was busy
and commits it as one transaction: each answer's UPDATE and its audit entry,
on the writer's own DBAPI connection (console.acks.rawdb says why not through
SQLAlchemy). A future resolves only after its batch committed, so a 200 page
means durable. A batch that fails is retried answer by answer, so one bad row
cannot sink the answers of others.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from console.acks.auditbatch import append_many
from console.acks.errors import RecipientGone, RecorderUnavailable
from console.acks.lookup import is_late
from console.acks.rawdb import RawDialect
from console.models import utcnow
from console.storage import Database

log = logging.getLogger("console.acks.recorder")

AUDIT_ACTION = "ack.answer"


@dataclass(frozen=True)
class AnswerRequest:
    """One answer as the web page posted it.

    Args:
        recipient_id: whose answer (the link's recipient, or found by email on a group link).
        answer: one of the broadcast's options, already checked.
        client: the client's address, for the audit log.
        via: "link" (personal link) or "group link".
    """

    recipient_id: int
    answer: str
    client: str
    via: str = "link"


@dataclass(frozen=True)
class Outcome:
    """What was recorded, once it is committed."""

    recipient_id: int
    broadcast_id: int
    answer: str
    previous: str | None
    answered_at: dt.datetime
    late: bool
    audit_seq: int


class AnswerRecorder(Protocol):
    """Anything that records an answer durably before returning (the benchmark swaps in a naive one)."""

    def record(self, request: AnswerRequest, timeout: float = ...) -> Outcome: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def alive(self) -> bool: ...


class PendingAnswer:
    """The result of one submitted answer, filled in by the writer once its batch committed.

    A bare lock, held until then, is the cheapest thing a request thread can
    block on: concurrent.futures.Future wakes its waiter through a Python-level
    Condition and costs about twice as much CPU per answer (measured here).
    """

    __slots__ = ("_done", "_error", "_outcome", "abandoned", "request")

    def __init__(self, request: AnswerRequest) -> None:
        self.request = request
        self.abandoned = False  # the caller gave up waiting; the writer skips it if not yet taken
        self._outcome: Outcome | None = None
        self._error: BaseException | None = None
        self._done = threading.Lock()
        self._done.acquire()

    def done(self) -> bool:
        return not self._done.locked()

    def result(self, timeout: float | None = None) -> Outcome:
        """Wait for the commit; raises what the writer reported, or RecorderUnavailable on timeout."""
        if not self._done.acquire(timeout=-1 if timeout is None else timeout):
            self.abandoned = True
            raise RecorderUnavailable(f"the answer was not recorded within {timeout:.0f} s")
        self._done.release()  # stays resolved for a second look
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome

    def _resolve(self, outcome: Outcome | None = None, error: BaseException | None = None) -> None:
        self._outcome, self._error = outcome, error
        self._done.release()


_STOP = object()

_CURRENT = ("SELECT r.id, r.broadcast_id, r.email, r.answer, b.kind, b.state, i.state "
            "FROM recipients r JOIN broadcasts b ON b.id = r.broadcast_id JOIN incidents i ON i.id = b.incident_id "
            "WHERE {ids} ORDER BY r.id")
_SET_ANSWER = "UPDATE recipients SET answer = :a, answered_at = :t, answer_late = :l WHERE id = :id"


@dataclass(frozen=True)
class _Current:
    id: int
    broadcast_id: int
    email: str
    answer: str | None
    late: bool


def write_answers(cursor: Any, raw: RawDialect, requests: list[AnswerRequest]) -> list[Outcome | RecipientGone]:
    """Record answers in the cursor's open write transaction, each with its audit entry.

    Answers for the same recipient within one batch apply in order, each
    audit entry naming the answer it replaced. On PostgreSQL the rows are
    locked in id order before the audit lock is taken, so two servers never
    wait on each other in a cycle.
    """
    where, params = raw.in_list("r.id", sorted({r.recipient_id for r in requests}))
    sql = _CURRENT.format(ids=where) + (" FOR UPDATE OF r" if raw.postgresql else "")
    cursor.execute(raw.sql(sql), params)
    rows = {int(r[0]): _Current(int(r[0]), int(r[1]), r[2], r[3], is_late(r[5], r[6], r[4]))
            for r in cursor.fetchall()}
    current = {rid: row.answer for rid, row in rows.items()}
    now = utcnow()
    stamp = now.isoformat(timespec="microseconds")
    plan: list[RecipientGone | tuple[AnswerRequest, _Current, str | None]] = []
    for req in requests:
        row = rows.get(req.recipient_id)
        if row is None:
            plan.append(RecipientGone(f"recipient {req.recipient_id} no longer exists"))
            continue
        previous, current[row.id] = current[row.id], req.answer
        plan.append((req, row, previous))
    done = [p for p in plan if not isinstance(p, RecipientGone)]
    if not done:
        return [p for p in plan if isinstance(p, RecipientGone)]
    seqs = iter(append_many(cursor, raw, [
        (row.email, AUDIT_ACTION, f"broadcast {row.broadcast_id}", {
            "recipient": row.id, "email": row.email, "answer": req.answer, "previous": previous,
            "time": stamp, "late": row.late, "client": req.client, "via": req.via,
        }) for req, row, previous in done
    ]))
    at = raw.time_param(now)
    cursor.executemany(raw.sql(_SET_ANSWER), [{"a": req.answer, "t": at, "l": row.late, "id": row.id}
                                              for req, row, _previous in done])
    return [p if isinstance(p, RecipientGone)
            else Outcome(p[1].id, p[1].broadcast_id, p[0].answer, p[2], now, p[1].late, next(seqs))
            for p in plan]


class GroupCommitRecorder:
    """The single writer thread (see the module docstring).

    Args:
        db: the database.
        max_batch: answers per transaction at most (bounds one commit's time).
    """

    def __init__(self, db: Database, *, max_batch: int = 500) -> None:
        self._raw = RawDialect(db)
        self._conn: Any = None
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[PendingAnswer | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._accepting = False
        self._lock = threading.Lock()
        self.batches = 0  # committed transactions, for the benchmark's report
        self.answers = 0

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._accepting = True
            self._thread = threading.Thread(target=self._run, name="ack-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking answers, commit those already queued, then end the thread."""
        with self._lock:
            thread, self._accepting = self._thread, False
            if thread is None:
                return
            self._queue.put(_STOP)
        thread.join(timeout)
        self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, request: AnswerRequest) -> PendingAnswer:
        pending = PendingAnswer(request)
        with self._lock:
            if not self._accepting:
                raise RecorderUnavailable("the answer recorder is not running")
            self._queue.put(pending)
        return pending

    def record(self, request: AnswerRequest, timeout: float = 30.0) -> Outcome:
        """Record one answer; returns after it is committed.

        Raises:
            RecipientGone: the recipient was deleted meanwhile.
            RecorderUnavailable: stopped, timed out, or the database failed.
        """
        return self.submit(request).result(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            live = [p for p in batch if isinstance(p, PendingAnswer) and not p.abandoned]
            if live:
                self._commit(live)
        self._drain_after_stop()
        self._close_connection()

    def _drain_after_stop(self) -> None:
        """Fail anything that slipped in between `_accepting = False` and the stop marker."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, PendingAnswer):
                item._resolve(error=RecorderUnavailable("the answer recorder stopped"))

    def _commit(self, batch: list[PendingAnswer]) -> None:
        try:
            results = self._transaction([p.request for p in batch])
        except Exception as exc:
            if len(batch) > 1:
                log.warning("a batch of %d answers failed (%s); retrying them one by one", len(batch), exc)
                for pending in batch:
                    self._commit([pending])
                return
            log.error("could not record an answer: %s", exc, exc_info=exc)
            batch[0]._resolve(error=RecorderUnavailable(f"the database failed: {exc.__class__.__name__}"))
            return
        self.batches += 1
        self.answers += len(batch)
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                pending._resolve(error=result)
            else:
                pending._resolve(outcome=result)

    def _transaction(self, requests: list[AnswerRequest]) -> list[Outcome | RecipientGone]:
        """One write transaction on the writer's own connection (reopened after a failure)."""
        if self._conn is None:
            self._conn = self._raw.connect(read_only=False)
        cursor = self._conn.cursor()
        try:
            self._raw.begin_write(cursor)
            results = write_answers(cursor, self._raw, requests)
            cursor.execute("COMMIT")
            return results
        except BaseException:
            try:
                cursor.execute("ROLLBACK")
            except Exception:  # the connection itself is broken: start afresh next time
                self._close_connection()
            raise
        finally:
            if self._conn is not None:
                cursor.close()

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken
                conn.close()
