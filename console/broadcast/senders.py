"""Sender processes: Apprise's per-message work off the dispatcher's interpreter.

Building and sending one email through Apprise is ~3 ms of CPU with the GIL
held. In one process that caps a fan-out at one core and, in the desktop app,
makes the GUI thread wait for the GIL while a broadcast goes out. So each
sender thread of the dispatcher talks to a `channels.Deliverer` living in a
child process, over its own pipe: the thread sends one `Outgoing` and blocks
(GIL released) until its `DeliveryResult` comes back. The dispatcher's own
threads keep claiming, rate limiting and recording; the children only send.

Children are started with `spawn` (never `fork`: the parent has threads, an
event loop and database connections) when the dispatcher starts, so they are
warm before the first broadcast. They ignore SIGINT (a terminal's Ctrl-C is for
the dispatcher to handle, see console.stopsignals) and die quietly on SIGTERM.

A child that dies is replaced. What its sends become depends on how it died:
stopped by someone (SIGTERM, SIGKILL, …) or abandoned while the dispatcher
stops → `SendInterrupted` (the delivery goes back to pending, the attempt not
counted); crashed → `SenderCrashed` (a failed attempt, retried like any other).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Self

from channels import Deliverer, DeliveryResult, DeliveryStatus, Outgoing
from console import stopsignals
from console.broadcast.errors import SenderCrashed, SendInterrupted

log = logging.getLogger("console.broadcast.senders")

_CTX = multiprocessing.get_context("spawn")
STOPPED_SIGNALS = frozenset(int(s) for s in stopsignals.STOPPED_BY_SOMEONE)


def _serve_pipe(conn: Connection, connect_timeout: float, read_timeout: float) -> None:
    with Deliverer(connect_timeout=connect_timeout, read_timeout=read_timeout) as deliverer:
        while True:
            try:
                outgoing = conn.recv()
            except (EOFError, OSError):
                return
            if outgoing is None:
                return
            try:
                result = deliverer.send(outgoing)
            except Exception as exc:  # noqa: BLE001 - an answer must go back, or the parent waits forever
                result = DeliveryResult(DeliveryStatus.FAILED, f"internal error: {exc.__class__.__name__}", "", 0.0)
            try:
                conn.send(result)
            except (OSError, EOFError):
                return


def _child_main(conns: list[Connection], connect_timeout: float, read_timeout: float) -> None:
    stopsignals.unblock_term()  # SIGTERM: its default action, a quiet exit
    threads = [threading.Thread(target=_serve_pipe, args=(c, connect_timeout, read_timeout), daemon=True)
               for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class SenderProcesses:
    """`workers` pipes served by `processes` child processes."""

    def __init__(self, workers: int, processes: int, connect_timeout: float, read_timeout: float) -> None:
        self._timeouts = (connect_timeout, read_timeout)
        self._lock = threading.Lock()
        self._closing = False
        self._pipes: list[Connection] = []
        self._owner: list[int] = []
        self._procs: list[BaseProcess] = []
        count = max(1, min(processes, workers))
        groups: list[list[Connection]] = [[] for _ in range(count)]
        for i in range(workers):
            parent, child = _CTX.Pipe()
            self._pipes.append(parent)
            self._owner.append(i % count)
            groups[i % count].append(child)
        for group in groups:
            self._procs.append(self._spawn(group))

    def _spawn(self, child_ends: list[Connection]) -> BaseProcess:
        proc = _CTX.Process(target=stopsignals.run_ignoring_interrupt,
                            args=(_child_main, child_ends, *self._timeouts), name="crisis-sender", daemon=True)
        with stopsignals.blocked():
            proc.start()
        for end in child_ends:
            end.close()
        return proc

    def deliverer(self, index: int) -> RemoteDeliverer:
        return RemoteDeliverer(self, index)

    def send(self, index: int, outgoing: Outgoing) -> DeliveryResult:
        """Send through child `index`'s pipe.

        Raises:
            SendInterrupted: the child was stopped (or abandoned) during the send.
            SenderCrashed: the child died on its own during the send.
        """
        pipe, proc = self._pipes[index], self._procs[self._owner[index]]
        try:
            pipe.send(outgoing)
            result: DeliveryResult = pipe.recv()
            return result
        except (EOFError, OSError):
            pass
        why = self._lost(index, pipe, proc)
        if why is None:
            raise SendInterrupted("the sender process was stopped during the send")
        raise SenderCrashed(why)

    def _lost(self, index: int, pipe: Connection, proc: BaseProcess) -> str | None:
        """A pipe broke: find out why and replace its child. None: it was stopped, not a crash."""
        with self._lock:
            proc.join(5)  # under the lock: two threads must not reap the same child
            code = proc.exitcode
            if self._closing:
                return None
            owner = self._owner[index]
            if self._procs[owner] is proc:
                if proc.is_alive():  # its pipe broke but it runs on: it cannot be trusted
                    proc.kill()
                    proc.join(5)
                self._replace(owner)
        if code is not None and code < 0 and -code in STOPPED_SIGNALS:
            log.warning("a sender process was stopped by %s during a send; its delivery goes back to the outbox",
                        signal.Signals(-code).name)
            return None
        return f"the sender process stopped during the send (exit code {code})"

    def _replace(self, owner: int) -> None:
        """Start a new child for the pipes of the one that died (the lock is held)."""
        log.warning("a sender process stopped (exit %s); starting a new one", self._procs[owner].exitcode)
        child_ends = []
        for i, o in enumerate(self._owner):
            if o == owner:
                parent, child = _CTX.Pipe()
                self._pipes[i].close()
                self._pipes[i] = parent
                child_ends.append(child)
        self._procs[owner] = self._spawn(child_ends)

    def abandon(self) -> None:
        """Stop the children now: sends in flight end in SendInterrupted. Safe from a signal handler."""
        self._closing = True
        for proc in list(self._procs):
            if proc.is_alive():
                proc.terminate()

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._closing = True
        for pipe in self._pipes:
            try:
                pipe.send(None)
            except (OSError, BrokenPipeError):
                pass
        for proc in self._procs:
            proc.join(timeout)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout)
        for pipe in self._pipes:
            pipe.close()


class RemoteDeliverer:
    """The Deliverer interface of one pipe (one dispatcher sender thread)."""

    def __init__(self, pool: SenderProcesses, index: int) -> None:
        self._pool = pool
        self._index = index

    def send(self, outgoing: Outgoing) -> DeliveryResult:
        return self._pool.send(self._index, outgoing)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
