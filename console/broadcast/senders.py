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
warm before the first broadcast. A child that dies is replaced; the delivery
it held is reported failed and goes back to the outbox for a retry.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from channels import Deliverer, DeliveryResult, Outgoing

log = logging.getLogger("console.broadcast.senders")

_CTX = multiprocessing.get_context("spawn")


def _serve_pipe(conn: Connection, connect_timeout: float, read_timeout: float) -> None:
    with Deliverer(connect_timeout=connect_timeout, read_timeout=read_timeout) as deliverer:
        while True:
            try:
                outgoing = conn.recv()
            except EOFError:
                return
            if outgoing is None:
                return
            conn.send(deliverer.send(outgoing))


def _child_main(conns: list[Connection], connect_timeout: float, read_timeout: float) -> None:
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
        proc = _CTX.Process(target=_child_main, args=(child_ends, *self._timeouts), name="crisis-sender",
                            daemon=True)
        proc.start()
        for end in child_ends:
            end.close()
        return proc

    def deliverer(self, index: int) -> RemoteDeliverer:
        return RemoteDeliverer(self, index)

    def send(self, index: int, outgoing: Outgoing) -> DeliveryResult:
        try:
            self._pipes[index].send(outgoing)
            result: DeliveryResult = self._pipes[index].recv()
            return result
        except (EOFError, OSError, BrokenPipeError):
            self._replace(index)
            raise RuntimeError("the sender process stopped during a send") from None

    def _replace(self, index: int) -> None:
        """Start a new child for the pipes of the one that died."""
        with self._lock:
            owner = self._owner[index]
            if self._procs[owner].is_alive():
                return
            log.warning("a sender process stopped (exit %s); starting a new one", self._procs[owner].exitcode)
            child_ends = []
            for i, o in enumerate(self._owner):
                if o == owner:
                    parent, child = _CTX.Pipe()
                    self._pipes[i].close()
                    self._pipes[i] = parent
                    child_ends.append(child)
            self._procs[owner] = self._spawn(child_ends)

    def close(self, timeout: float = 10.0) -> None:
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

    def __enter__(self) -> RemoteDeliverer:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
