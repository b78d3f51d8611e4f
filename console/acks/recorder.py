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
import logging
import queue
import threading
from typing import Any, Protocol

from console.acks.answers import AUDIT_ACTION, AnswerRequest, LinkRequest, Outcome, Request, write_requests
from console.acks.errors import RecipientGone, RecorderUnavailable
from console.acks.rawdb import RawDialect
from console.models import utcnow
from console.storage import Database

log = logging.getLogger("console.acks.recorder")

__all__ = ["AUDIT_ACTION", "AnswerRecorder", "AnswerRequest", "GroupCommitRecorder", "LinkRequest", "Outcome",
           "PendingAnswer", "Probe"]


class AnswerRecorder(Protocol):
    """Anything that records an answer durably before returning (the benchmark swaps in a naive one)."""

    def record(self, request: Request, timeout: float = ...) -> Outcome: ...

    def barrier(self, timeout: float = ...) -> None: ...

    def probe(self, timeout: float = ...) -> None: ...

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

    def __init__(self, request: Request | Probe | None) -> None:
        self.request = request
        self.abandoned = False  # the caller gave up waiting; the writer skips it if not yet taken
        self._outcome: Outcome | None = None
        self._error: BaseException | None = None
        self._done = threading.Lock()
        self._done.acquire()

    def done(self) -> bool:
        return not self._done.locked()

    def result(self, timeout: float | None = None) -> Outcome | None:
        """Wait for the commit; raises what the writer reported, or RecorderUnavailable on timeout."""
        if not self._done.acquire(timeout=-1 if timeout is None else timeout):
            self.abandoned = True
            raise RecorderUnavailable(f"the answer was not recorded within {timeout:.0f} s")
        self._done.release()  # stays resolved for a second look
        if self._error is not None:
            raise self._error
        return self._outcome

    def _resolve(self, outcome: Outcome | None = None, error: BaseException | None = None) -> None:
        self._outcome, self._error = outcome, error
        self._done.release()


_STOP = object()
_PROBE_SQL = ('INSERT INTO settings ("key", value) VALUES (:k, :v) '
              'ON CONFLICT ("key") DO UPDATE SET value = excluded.value')


class Probe:
    """A request that writes one row and commits: can answers be committed right now?

    The row's value changes every time (SQLite writes nothing for an update to the same value,
    so that would prove nothing on a full disk): the time of the last successful probe.
    """

    KEY = "ack.health_probe"  # internal: not one of console.settings.DEFINITIONS


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

    def submit(self, request: Request | Probe | None) -> PendingAnswer:
        """Queue `request` (None: nothing, resolved when the next batch commits)."""
        pending = PendingAnswer(request)
        with self._lock:
            if not self._accepting:
                raise RecorderUnavailable("the answer recorder is not running")
            self._queue.put(pending)
        return pending

    def barrier(self, timeout: float = 30.0) -> None:
        """Return once the writer committed its next batch.

        The group page waits on this where an unknown email records nothing, so that an
        answer for a stranger takes as long as one for a member (no timing oracle).
        """
        self.submit(None).result(timeout)

    def probe(self, timeout: float = 5.0) -> None:
        """Write and commit one row through the writer (for /healthz).

        Raises:
            RecorderUnavailable: the writer is stopped or the database refused the write
                (full disk, read-only file, lost connection…).
        """
        self.submit(Probe()).result(timeout)

    def record(self, request: Request, timeout: float = 30.0) -> Outcome:
        """Record one answer (or link request); returns after it is committed.

        Raises:
            RecipientGone: the recipient was deleted meanwhile.
            RecorderUnavailable: stopped, timed out, or the database failed.
        """
        outcome = self.submit(request).result(timeout)
        assert outcome is not None
        return outcome

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
        self.answers += sum(1 for p in batch if isinstance(p.request, AnswerRequest))
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                pending._resolve(error=result)
            else:
                pending._resolve(outcome=result)

    def _transaction(self, requests: list[Request | Probe | None]) -> list[Outcome | RecipientGone | None]:
        """One write transaction on the writer's own connection (reopened after a failure)."""
        if self._conn is None:
            self._conn = self._raw.connect(read_only=False)
        cursor = self._conn.cursor()
        try:
            self._raw.begin_write(cursor)
            real = [r for r in requests if isinstance(r, AnswerRequest | LinkRequest)]
            done = iter(write_requests(cursor, self._raw, real) if real else [])
            if any(isinstance(r, Probe) for r in requests):
                cursor.execute(self._raw.sql(_PROBE_SQL), {"k": Probe.KEY, "v": utcnow().isoformat()})
            cursor.execute("COMMIT")
            return [next(done) if isinstance(r, AnswerRequest | LinkRequest) else None for r in requests]
        except BaseException:
            try:
                cursor.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the connection itself is broken: start afresh next time
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
