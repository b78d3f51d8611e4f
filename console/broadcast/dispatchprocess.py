"""The dispatcher in a child process, for a host process that must stay responsive (the desktop app).

A dispatcher's claimer and recorder hold the GIL for their transactions, their
audit hashing and the objects they allocate (whose collection stops every
thread); in the desktop app that is the GUI thread's GIL. Here the whole
Dispatcher runs in a spawned child, exactly as `crisis-console dispatch` runs it,
and the parent only hears which broadcasts changed.

Protocol over one pipe. Parent → child: "wake", "stop". Child → parent:
("started",) or ("failed", text) once, then ("recorded", [broadcast ids]) and
("finished", [broadcast ids]) as batches commit, and ("stopped",) at the end.
The child stops by itself (finishing what it holds) when the parent goes away or
on SIGTERM; it ignores SIGINT (a terminal's Ctrl-C reaches the whole process group:
the desktop app quits and stops it). Stopping puts unsent and abandoned deliveries
back in the outbox without counting an attempt (see Dispatcher.stop).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

from console.broadcast.errors import DispatchError
from console.spawned import ChildExited, spawn_and_wait
from console.stopsignals import StopRequest, unblock_term
from console.storage import Database

log = logging.getLogger("console.broadcast.dispatchprocess")

class DispatcherProcessError(DispatchError):
    """The dispatcher process did not start, or stopped unexpectedly."""


def _child_main(conn: Connection, url: str, key: bytes, key_source: str, stop_timeout: float, nice: int) -> None:
    # Started by run_ignoring_interrupt: a terminal's Ctrl-C is the desktop app's to handle (it
    # quits and stops us; if it dies, the pipe closes and we stop). SIGTERM stops us cleanly.
    with StopRequest([signal.SIGTERM]) as terminated:
        unblock_term()
        _serve(conn, url, key, key_source, stop_timeout, nice, terminated)


def _serve(conn: Connection, url: str, key: bytes, key_source: str, stop_timeout: float, nice: int,
           terminated: StopRequest) -> None:
    if nice:
        os.nice(nice)  # before the imports: they are the start-up's biggest CPU cost
    from console.broadcast.dispatcher import DispatchConfig, Dispatcher
    from console.storage.secrets import SecretBox

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with send_lock:  # the recorder thread and this one both send
            try:
                conn.send(message)
            except (OSError, EOFError):  # the parent is gone; the loop below notices too
                pass

    try:
        db = Database(url, upgrade=False, secrets=SecretBox(key, key_source))  # the parent upgraded it
        dispatcher = Dispatcher(
            db, DispatchConfig.from_settings(db),
            on_recorded=lambda outcomes: send(("recorded", sorted({o.claimed.broadcast_id for o in outcomes}))),
            on_finished=lambda ids: send(("finished", list(ids))),
        ).start()
    except Exception as exc:  # noqa: BLE001 - said to the parent in words
        send(("failed", f"{exc.__class__.__name__}: {exc}"))
        return
    terminated.on_again = dispatcher.abandon
    send(("started",))
    try:
        while not terminated.requested:
            if conn not in wait([conn, terminated.fileno()]):
                continue
            try:
                command = conn.recv()
            except (EOFError, OSError):
                log.warning("the desktop app went away: stopping the dispatcher")
                break
            if command == "wake":
                dispatcher.wake()
            elif command == "stop":
                break
        if terminated.requested:
            log.warning("stopping the dispatcher (SIGTERM)")
    finally:
        dispatcher.stop(stop_timeout)
        db.dispose()
        send(("stopped",))


class DispatcherProcess:
    """Runs a Dispatcher over `db` in a child process.

    Args:
        db: the database (its URL and key are handed to the child).
        on_recorded: called with the ids of broadcasts that got results (in a reader thread).
        on_finished: called with the ids of broadcasts whose last delivery was recorded.
        on_lost: called with a text if the child stops without being asked to.
        nice: how much lower the child's CPU priority is than this process's (POSIX niceness,
            0-19; its sender processes inherit it). The desktop app passes one so that on a
            busy machine its window is served before the sending.
    """

    def __init__(self, db: Database, *, on_recorded: Callable[[list[int]], None] | None = None,
                 on_finished: Callable[[list[int]], None] | None = None,
                 on_lost: Callable[[str], None] | None = None, nice: int = 0) -> None:
        if not 0 <= nice <= 19:
            raise ValueError(f"nice must be 0-19, not {nice}")
        self._nice = nice
        self._db = db
        self._on_recorded = on_recorded
        self._on_finished = on_finished
        self._on_lost = on_lost
        self._conn: Connection | None = None
        self._proc: Any = None
        self._reader: threading.Thread | None = None
        self._stopping = False
        self._stopped = threading.Event()
        self._send_lock = threading.Lock()

    def start(self, timeout: float = 60.0, stop_timeout: float = 30.0) -> DispatcherProcess:
        """Spawn the child and wait until its dispatcher runs (recovery of abandoned sends done).

        Raises:
            DispatcherProcessError: it did not start; the text says why.
        """
        key, source = self._db.secrets.handover()
        try:
            # Not a daemon: the dispatcher starts its own sender processes. It ends when the pipe closes.
            self._proc, self._conn, first = spawn_and_wait(
                _child_main, (self._db.url, key, source, stop_timeout, self._nice), name="crisis-dispatcher",
                daemon=False, timeout=timeout, ignore_interrupt=True)
        except TimeoutError:
            raise DispatcherProcessError(f"the dispatcher process did not start within {timeout:g} s") from None
        except ChildExited as exc:
            raise DispatcherProcessError(f"the dispatcher process {exc}") from None
        if first[0] != "started":
            self._proc.join(10)
            self._conn.close()
            self._proc = self._conn = None
            raise DispatcherProcessError(f"the dispatcher did not start: {first[1]}")
        self._reader = threading.Thread(target=self._read, name="dispatcher-process-reader", daemon=True)
        self._reader.start()
        return self

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else int(self._proc.pid)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive() and not self._stopped.is_set()

    def wake(self) -> None:
        """New deliveries were written: claim them now."""
        self._send("wake")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; in-flight sends finish and are recorded before the child exits."""
        if self._proc is None:
            return
        self._stopping = True
        self._send("stop")
        self._stopped.wait(timeout + 5)
        self._proc.join(timeout)
        if self._proc.is_alive():
            log.error("the dispatcher process did not stop within %g s; killing it", timeout)
            self._kill()
        if self._reader is not None:
            self._reader.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = self._reader = None

    def _send(self, command: str) -> None:
        with self._send_lock:
            if self._conn is None:
                return
            try:
                self._conn.send(command)
            except (OSError, EOFError):
                pass  # the reader reports the lost child

    def _read(self) -> None:
        conn, proc = self._conn, self._proc  # stop() may clear the attributes meanwhile
        assert conn is not None and proc is not None
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            kind = message[0]
            try:
                if kind == "recorded" and self._on_recorded:
                    self._on_recorded(message[1])
                elif kind == "finished" and self._on_finished:
                    self._on_finished(message[1])
                elif kind == "stopped":
                    break
            except Exception:  # a listener's bug must not stop the reading
                log.exception("a dispatcher event listener failed")
        self._stopped.set()
        if not self._stopping:
            proc.join(5)
            text = f"the dispatcher process stopped unexpectedly (exit code {proc.exitcode})"
            log.error(text)
            if self._on_lost:
                self._on_lost(text)

    def _kill(self) -> None:
        self._proc.kill()
        self._proc.join(10)
