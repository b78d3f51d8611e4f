"""Starting the servers the desktop runs inside itself (blocking; called from a worker thread).

Kept apart from console.gui.services, and imported only when the services start,
so that the first window does not wait for waitress, the answer writer and the
dispatcher's process machinery to be imported. Nothing here imports Qt: what
the desktop wants to hear arrives through the callables it passes.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from console.acks.affinity import CpuChoice
from console.acks.errors import AckServerError
from console.acks.recorder import GroupCommitRecorder, Outcome, Request
from console.acks.server import AckServer
from console.broadcast.dispatchprocess import DispatcherProcess
from console.storage import Database

log = logging.getLogger("console.gui.services")

DISPATCHER_NICE = 5
"""The embedded dispatcher's CPU priority below the window's: on a laptop whose cores are all
busy, the window is served first. In back-to-back runs of `python -m console.bench gui` it cost
no sending rate (301-330 msgs/s niced, 321-329 not); its effect on the stalls was within the
shared machine's noise."""


def start_dispatcher(db: Database, on_recorded: Callable[[list[int]], None],
                     on_finished: Callable[[list[int]], None], on_lost: Callable[[str], None]) -> DispatcherProcess:
    """The dispatcher in a child process: its transactions, hashing and garbage never hold this GIL."""
    return DispatcherProcess(db, on_recorded=on_recorded, on_finished=on_finished, on_lost=on_lost,
                             nice=DISPATCHER_NICE).start()


def start_ack(db: Database, announce: Callable[[int], None], host: str, port: int,
              cpu: CpuChoice) -> tuple[AckServer, str, str | None]:
    """The acknowledgement service on host:port, or on any free port if that one is taken.

    Returns the server, the URL it listens on, and a note for the status bar when it
    had to fall back to another port.
    """
    if port == 0 or _can_bind(host, port):
        server = _server(db, announce, host, port, cpu)
        try:
            return server, server.start(), None
        except AckServerError as exc:
            if port == 0:
                raise
            log.warning("%s; using any free port", exc)
    server = _server(db, announce, host, 0, cpu)
    url = server.start()
    return server, url, f"port {port} is taken: the acknowledgement service listens on {url} instead"


def _server(db: Database, announce: Callable[[int], None], host: str, port: int, cpu: CpuChoice) -> AckServer:
    return AckServer(db, host=host, port=port, recorder=_AnnouncingRecorder(db, announce), cpu=cpu)


def _can_bind(host: str, port: int) -> bool:
    """Whether host:port is free (checked first: a failed bind inside waitress leaks its sockets)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return True  # let the server report the bad address in its own words
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return False
    return True


class _AnnouncingRecorder(GroupCommitRecorder):
    """The service's answer writer, telling the desktop which broadcast got an answer once it is committed."""

    def __init__(self, db: Database, announce: Callable[[int], None]) -> None:
        super().__init__(db)
        self._announce = announce

    def record(self, request: Request, timeout: float = 30.0) -> Outcome:
        outcome = super().record(request, timeout)
        self._announce(outcome.broadcast_id)
        return outcome
