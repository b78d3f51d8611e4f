"""The services the desktop runs inside itself: the dispatcher and the acknowledgement server.

Both are optional (settings ``dispatch.embedded`` and ``ack.embedded``): a team
may run them on a server instead. Starting touches the database and binds a
socket, so it runs off the GUI thread; the outcome arrives as a ServiceState.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Signal

from console import settings
from console.acks.affinity import CpuChoice
from console.acks.errors import AckServerError
from console.acks.recorder import AnswerRequest, GroupCommitRecorder, Outcome
from console.acks.server import AckServer
from console.broadcast.dispatchprocess import DispatcherProcess
from console.gui.bridge import Bridge
from console.gui.tasks import TaskRunner, describe
from console.storage import Database

log = logging.getLogger("console.gui.services")

STARTING, RUNNING, OFF, FAILED = "starting", "running", "off", "failed"


@dataclass(frozen=True)
class ServiceState:
    """What the status bar shows. States: starting, running, off (not embedded), failed."""

    dispatcher: str = STARTING
    ack: str = STARTING
    ack_url: str | None = None  # where the embedded server listens
    public_url: str | None = None  # what links in messages point at (setting ack.public_url)
    notes: tuple[str, ...] = ()  # fallbacks and errors, in words


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

    def record(self, request: AnswerRequest, timeout: float = 30.0) -> Outcome:
        outcome = super().record(request, timeout)
        self._announce(outcome.broadcast_id)
        return outcome


@dataclass
class _Started:
    state: ServiceState
    dispatcher: DispatcherProcess | None
    ack: AckServer | None


class Services(QObject):
    """Starts and stops the embedded dispatcher and acknowledgement server.

    Signals:
        state_changed(ServiceState): after start-up finished or failed, and after stop().
    """

    state_changed = Signal(object)
    _dispatcher_lost = Signal(str)

    def __init__(self, db: Database, bridge: Bridge, tasks: TaskRunner, *, embedded: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.bridge = bridge
        self.tasks = tasks
        self.embedded = embedded
        self._state = ServiceState() if embedded else ServiceState(OFF, OFF)
        self._dispatcher: DispatcherProcess | None = None
        self._ack: AckServer | None = None
        self._dispatcher_lost.connect(self._lost)

    @property
    def state(self) -> ServiceState:
        return self._state

    @property
    def ack_url(self) -> str | None:
        return self._state.ack_url

    @property
    def public_url(self) -> str | None:
        return self._state.public_url

    @property
    def dispatcher(self) -> DispatcherProcess | None:
        return self._dispatcher

    def start(self) -> None:
        """Start in the background; state_changed tells how it went."""
        self.tasks.run(self._start_blocking, self._started, self._start_failed)

    def wake(self) -> None:
        """New deliveries were written: let the dispatcher claim them now."""
        if self._dispatcher is not None:
            self._dispatcher.wake()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop both (blocking: in-flight sends finish and are recorded)."""
        self.tasks.wait_idle(int(timeout * 1000))
        if self._dispatcher is not None:
            self._dispatcher.stop(timeout)
            self._dispatcher = None
        if self._ack is not None:
            try:
                self._ack.stop()
            except Exception:  # noqa: BLE001 - shutting down: log and carry on
                log.exception("stopping the acknowledgement service failed")
            self._ack = None
        if self.embedded:
            self._set(replace(self._state, dispatcher=OFF, ack=OFF, ack_url=None))

    # -- start-up, off the GUI thread --------------------------------------------------
    def _start_blocking(self) -> _Started:
        with self.db.read() as session:
            values = settings.get_all(session)
        state = ServiceState(public_url=values["ack.public_url"])
        notes: list[str] = []
        dispatcher = None
        if not self.embedded or not values["dispatch.embedded"]:
            state = replace(state, dispatcher=OFF)
        else:
            try:
                # In a child process: its transactions, hashing and garbage never hold this GIL.
                dispatcher = DispatcherProcess(self.db, on_recorded=self.bridge.deliveries_recorded.emit,
                                               on_finished=self.bridge.broadcasts_finished.emit,
                                               on_lost=self._dispatcher_lost.emit).start()
                state = replace(state, dispatcher=RUNNING)
            except Exception as exc:  # noqa: BLE001 - shown in the status bar, the app stays usable
                log.exception("the dispatcher did not start")
                state = replace(state, dispatcher=FAILED)
                notes.append(f"dispatcher: {describe(exc)}")
        ack = None
        if not self.embedded or not values["ack.embedded"]:
            state = replace(state, ack=OFF)
        else:
            try:
                ack, url, note = self._start_ack(values["ack.host"], values["ack.port"], values["ack.cpu"])
                state = replace(state, ack=RUNNING, ack_url=url)
                if note:
                    notes.append(note)
            except Exception as exc:  # noqa: BLE001
                log.exception("the acknowledgement service did not start")
                state = replace(state, ack=FAILED)
                notes.append(f"acknowledgement service: {describe(exc)}")
        return _Started(replace(state, notes=tuple(notes)), dispatcher, ack)

    def _ack_server(self, host: str, port: int, cpu: CpuChoice) -> AckServer:
        recorder = _AnnouncingRecorder(self.db, self.bridge.answers_recorded.emit)
        return AckServer(self.db, host=host, port=port, recorder=recorder, cpu=cpu)

    def _start_ack(self, host: str, port: int, cpu: CpuChoice) -> tuple[AckServer, str, str | None]:
        if port == 0 or _can_bind(host, port):
            server = self._ack_server(host, port, cpu)
            try:
                return server, server.start(), None
            except AckServerError as exc:
                if port == 0:
                    raise
                log.warning("%s; using any free port", exc)
        server = self._ack_server(host, 0, cpu)
        url = server.start()
        return server, url, f"port {port} is taken: the acknowledgement service listens on {url} instead"

    def _started(self, started: _Started) -> None:
        self._dispatcher, self._ack = started.dispatcher, started.ack
        for note in started.state.notes:
            self.bridge.status_message.emit(note)
        self._set(started.state)

    def _lost(self, text: str) -> None:
        self._dispatcher = None
        self.bridge.status_message.emit(text)
        self._set(replace(self._state, dispatcher=FAILED, notes=(*self._state.notes, text)))

    def _start_failed(self, exc: Exception) -> None:
        self._set(ServiceState(FAILED, FAILED, notes=(describe(exc),)))
        self.bridge.status_message.emit(describe(exc))

    def _set(self, state: ServiceState) -> None:
        self._state = state
        self.state_changed.emit(state)
