"""The dispatcher: claim pending deliveries, send them through channels/, record results.

Three kinds of thread, so the database and the network never wait on each
other: one claimer fills a bounded work queue from the outbox, N senders each
own a `channels.Deliverer` (per-thread reuse is what makes Apprise fast, see
channels.fast and channels.smtppool) — by default living in a child process,
see console.broadcast.senders — and one recorder writes results in batches,
each batch one transaction with its audit entries. Retries go back to the outbox with a
later `next_attempt_at`, so a restart loses nothing (the rules: console.broadcast.retry).

What is permanent (fails at once, no retry): channels refused the message before anything
was sent (`DeliveryResult.attempts == 0`: a URL Apprise cannot build, an unknown scheme, a
personal URL that would reach several people, an address Apprise would misread) and a
message that cannot be prepared because of its channel or address (`channels.ChannelError`).
Everything else — refused connections, timeouts, 4xx/5xx answers, errors we cannot
classify — is retried until the delivery's retry window ends: a wrong "permanent" would
lose a message that a later try would have delivered.

Stopping (`stop`): deliveries claimed but not started go back to pending; sends in flight
get `stop_grace` seconds to finish and be recorded, then (with sender processes) are
abandoned and go back to pending too; neither counts as an attempt.

Follow-through (scheduled sends, automatic reminders, escalation) is console.broadcast.schedule:
the claimer runs its `run_due` every `due_poll` seconds, with the dispatcher's clock.

Claimed deliveries become jobs (URL opened, message rendered) in console.broadcast.jobs.

Audit seals (console.broadcast.auditseal.Sealer): a sealer thread signs a checkpoint of the audit log
after broadcasts finish and once a day while the dispatcher runs (only when the log grew); a
seal still pending when the dispatcher stops is made before `stop` returns.

Signals (callbacks, plain Python; the GUI bridges them to Qt):
    on_recorded(list[Outcome]): after each committed batch of results.
    on_finished(list[int]): broadcasts whose last delivery was just recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from channels import Deliverer, DeliveryStatus
from console import settings
from console.broadcast import auditseal, outbox, schedule
from console.broadcast.errors import SenderCrashed, SendInterrupted
from console.broadcast.jobs import Job, JobMaker
from console.broadcast.outbox import Outcome
from console.broadcast.ratelimit import RateLimits
from console.broadcast.retry import RetryPolicy
from console.broadcast.senders import RemoteDeliverer, SenderProcesses
from console.models import utcnow
from console.storage import Database

log = logging.getLogger("console.broadcast.dispatcher")


@dataclass(frozen=True)
class DispatchConfig:
    workers: int = 8
    processes: int = 2  # child processes that do the sending; 0 sends in this process
    batch: int = 200
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lease_seconds: float = 300.0
    idle_poll: float = 0.25
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    stop_grace: float = 5.0  # seconds in-flight sends get to finish when the dispatcher stops
    due_poll: float = 1.0  # seconds between looks for due follow-through (console.broadcast.schedule)
    seal: bool = True  # sign audit checkpoints after broadcasts finish and daily (console.broadcast.auditseal)
    seal_poll: float = 60.0  # seconds between looks whether the daily audit seal is due

    @classmethod
    def from_settings(cls, db: Database, **overrides: Any) -> DispatchConfig:
        with db.read() as session:
            values = settings.get_all(session)
        retry = RetryPolicy(window=float(values["dispatch.retry_window"]), base=values["dispatch.retry_base_seconds"],
                            max_delay=values["dispatch.retry_max_delay_seconds"],
                            max_attempts=values["dispatch.max_attempts"])
        base = cls(workers=values["dispatch.workers"], processes=values["dispatch.processes"], retry=retry)
        return replace(base, **overrides)


class Dispatcher:
    def __init__(
        self, db: Database, config: DispatchConfig | None = None, *,
        on_recorded: Callable[[list[Outcome]], None] | None = None,
        on_finished: Callable[[list[int]], None] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = db
        self.clock = clock
        """Now, for claiming and for due follow-through; tests give a clock they move."""
        self.config = config or DispatchConfig()
        self.me = outbox.worker_identity()
        self.on_recorded = on_recorded
        self.on_finished = on_finished
        # Claim only a little ahead of the senders: rows held in memory here are rows
        # another dispatcher process cannot take.
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=max(16, self.config.workers * 8))
        self._results: queue.Queue[Outcome | None] = queue.Queue()
        self._stop = threading.Event()
        self._abandon = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._limits = RateLimits()
        self._maker: JobMaker | None = None
        self._senders: SenderProcesses | None = None
        self._sealer: auditseal.Sealer | None = None

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> Dispatcher:
        """Recover abandoned sends, then start the threads."""
        self._maker = JobMaker(self.db.secrets)  # checks the key in its own transaction, before any other opens
        with self.db.write() as session:
            requeued = outbox.recover(session.connection(), self.me, self.config.lease_seconds)
        if requeued:
            log.warning("requeued %d deliveries left in 'sending' by a stopped dispatcher", requeued)
        if self.config.processes > 0:
            self._senders = SenderProcesses(self.config.workers, self.config.processes,
                                            self.config.connect_timeout, self.config.read_timeout)
        self._spawn("claimer", self._claim_loop)
        for i in range(self.config.workers):
            self._spawn(f"sender-{i}", self._send_loop, i)
        self._spawn("recorder", self._record_loop)
        if self.config.seal:
            self._sealer = auditseal.Sealer(self.db, self.config.seal_poll).start()
        return self

    def _spawn(self, name: str, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=f"dispatch-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def wake(self) -> None:
        """New work was written: claim now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming and return once every claimed delivery is recorded or back in the outbox.

        Claimed deliveries not started yet go back to pending; sends in flight get
        `config.stop_grace` seconds (less if `abandon` is called) to finish, then those of
        sender processes are abandoned and go back to pending, uncounted. Sends made in this
        process cannot be abandoned: they end within the socket timeouts.
        """
        self._stop.set()
        self._wake.set()
        claimer, rest = (self._threads[0], self._threads[1:]) if self._threads else (None, [])
        if claimer is not None:
            claimer.join(timeout)
        self._release_queued("the dispatcher stopped before sending it")
        senders = [t for t in rest if t.name.startswith("dispatch-sender")]
        for _ in senders:
            self._jobs.put(None)
        deadline = time.monotonic() + self.config.stop_grace
        for t in senders:
            while t.is_alive() and not self._abandon.is_set() and time.monotonic() < deadline:
                t.join(min(0.1, max(0.0, deadline - time.monotonic())))
        if any(t.is_alive() for t in senders) and self._senders is not None:
            log.warning("abandoning the sends still in flight; their deliveries go back to the outbox")
            self._senders.abandon()
        for t in senders:
            t.join(timeout)
        self._results.put(None)
        for t in rest:
            t.join(timeout)
        self._threads = []
        if self._sealer is not None:  # the recorder is done: the sealer makes any pending seal, then ends
            self._sealer.finish(timeout)
            self._sealer = None
        if self._senders is not None:
            self._senders.close()
            self._senders = None

    def abandon(self) -> None:
        """Make a running `stop` abandon the sends in flight now (a second Ctrl-C).

        Only sets flags and signals the sender processes: safe from a signal handler.
        """
        self._abandon.set()
        if self._senders is not None:
            self._senders.abandon()

    def _release_queued(self, why: str) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                self._results.put(outbox.interrupted(job.claimed, why))

    def run_until_done(self, broadcast_id: int | None = None, *, poll: float = 0.1,
                       timeout: float | None = None, interrupted: Callable[[float], bool] | None = None) -> bool:
        """Block until nothing is pending or sending (for one broadcast, or at all).

        Returns False when `timeout` passed or `interrupted(seconds)` (a wait that returns
        True once the caller was asked to stop, e.g. `StopRequest.wait`) said so first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self.db.read() as session:
                if outbox.open_work(session, broadcast_id) == 0:
                    return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            if interrupted is None:
                time.sleep(poll)
            elif interrupted(poll):
                return False

    # -- claimer ----------------------------------------------------------------------
    def _claim_loop(self) -> None:
        last_recover = time.monotonic()
        last_due = float("-inf")
        while not self._stop.is_set():
            if time.monotonic() - last_due >= self.config.due_poll:
                last_due = time.monotonic()
                self._run_due_quietly()
            try:
                claimed = self._claim_batch()
            except Exception:  # the database may be briefly unreachable: keep the dispatcher alive
                log.exception("claiming deliveries failed; retrying")
                claimed = 0
            if time.monotonic() - last_recover > self.config.lease_seconds / 4:
                last_recover = time.monotonic()
                self._recover_quietly()
            if not claimed:
                self._wake.wait(self.config.idle_poll)
                self._wake.clear()

    def _run_due_quietly(self) -> None:
        try:
            schedule.run_due(self.db, self.clock())
        except Exception:  # the database may be briefly unreachable: the next poll tries again
            log.exception("running due reminders, escalations and scheduled sends failed")

    def _recover_quietly(self) -> None:
        try:
            with self.db.write() as session:
                outbox.recover(session.connection(), self.me, self.config.lease_seconds)
        except Exception:
            log.exception("recovering abandoned deliveries failed")

    def _claim_batch(self) -> int:
        room = self._jobs.maxsize - self._jobs.qsize()
        if room < self._jobs.maxsize // 2:
            time.sleep(0.005)
            return 1
        with self.db.write() as session:
            claimed = outbox.claim(session.connection(), self.me, min(room, self.config.batch), self.clock())
            if not claimed:
                return 0
            assert self._maker is not None  # made by start()
            jobs = self._maker.prepare(session, claimed)
        for job in jobs:
            self._jobs.put(job)
        return len(jobs)

    # -- senders ----------------------------------------------------------------------
    def _send_loop(self, index: int) -> None:
        if self._senders is not None:
            self._send_jobs(self._senders.deliverer(index))
            return
        with Deliverer(connect_timeout=self.config.connect_timeout,
                       read_timeout=self.config.read_timeout) as deliverer:  # closes pooled SMTP on exit
            self._send_jobs(deliverer)

    def _send_jobs(self, deliverer: Deliverer | RemoteDeliverer) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if job.outgoing is None:
                self._results.put(Outcome(job.claimed, False, job.error, "", 0.0, permanent=job.permanent))
                continue
            if self._stop.is_set():  # taken from the queue as the dispatcher stops: leave it for later
                self._results.put(outbox.interrupted(job.claimed, "the dispatcher stopped before sending it"))
                continue
            rate = self._maker.routes[job.claimed.channel_id].rate if self._maker is not None else None
            if rate:
                self._limits.acquire(job.claimed.channel_id, rate)
            try:
                result = deliverer.send(job.outgoing)
            except SendInterrupted as exc:
                self._results.put(outbox.interrupted(job.claimed, str(exc)))
                continue
            except SenderCrashed as exc:
                self._results.put(Outcome(job.claimed, False, str(exc), "", 0.0))
                continue
            except Exception as exc:  # a bug must cost one attempt (retried), not the sender thread
                log.exception("sending delivery %d failed unexpectedly", job.claimed.id)
                self._results.put(Outcome(job.claimed, False, f"internal error: {exc.__class__.__name__}", "", 0.0))
                continue
            failed = result.status is DeliveryStatus.FAILED
            self._results.put(Outcome(job.claimed, result.status is DeliveryStatus.OK, result.error, result.target,
                                      result.duration, result.status is DeliveryStatus.TIMED_OUT,
                                      permanent=failed and result.attempts == 0))

    # -- recorder ---------------------------------------------------------------------
    def _record_loop(self) -> None:
        stopping = False
        while not stopping:
            batch: list[Outcome] = []
            first = self._results.get()
            if first is None:
                stopping = True
            else:
                batch.append(first)
                deadline = time.monotonic() + 0.05
                while len(batch) < self.config.batch:
                    try:
                        item = self._results.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    batch.append(item)
            if batch:
                self._record(batch)

    def _record(self, batch: list[Outcome]) -> None:
        for attempt in range(1, 6):
            try:
                with self.db.write() as session:
                    conn = session.connection()
                    judged, touched = outbox.record(conn, self.me, batch, self.config.retry)
                    finished = outbox.finish_broadcasts(conn, touched)
                break
            except Exception:
                log.exception("recording %d results failed (attempt %d)", len(batch), attempt)
                time.sleep(0.5 * attempt)
        else:
            return  # rows stay 'sending'; their lease brings them back (at-least-once)
        if self.on_recorded:
            self.on_recorded(judged)
        if finished and self._sealer is not None:
            self._sealer.request("broadcast " + ", ".join(map(str, finished)) + " finished")
        if finished and self.on_finished:
            self.on_finished(finished)
