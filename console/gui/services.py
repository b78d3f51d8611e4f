"""The services the desktop runs inside itself: the dispatcher and the acknowledgement server.

Both are optional (settings ``dispatch.embedded`` and ``ack.embedded``): a team
may run them on a server instead. Starting touches the database and binds a
socket, so it runs off the GUI thread; the outcome arrives as a ServiceState.
The servers' code (console.gui.embedded) is imported there too, not at start-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from console.gui.bridge import Bridge
from console.gui.tasks import TaskRunner, describe
from console.services import settings
from console.storage import Database

if TYPE_CHECKING:
    from console.acks.server import AckServer
    from console.broadcast.dispatchprocess import DispatcherProcess

log = logging.getLogger("console.gui.services")

STARTING, RUNNING, OFF, FAILED = "starting", "running", "off", "failed"

RESTART_DELAYS_MS = (1_000, 5_000, 15_000, 30_000, 60_000)
"""A dispatcher process that died is started again after these pauses, once each; after the
last the status bar stays at "failed". Its unfinished sends are recovered by the new one."""


@dataclass(frozen=True)
class ServiceState:
    """What the status bar shows. States: starting, running, off (not embedded), failed."""

    dispatcher: str = STARTING
    ack: str = STARTING
    ack_url: str | None = None  # where the embedded server listens
    public_url: str | None = None  # what links in messages point at (setting ack.public_url)
    notes: tuple[str, ...] = ()  # fallbacks and errors, in words


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
        self._restarts = 0
        self._stopped = False
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
        self._stopped = True
        self.tasks.wait_idle(int(timeout * 1000))
        if self._dispatcher is not None:
            self._dispatcher.stop(timeout)
            self._dispatcher = None
        if self._ack is not None:
            try:
                self._ack.stop()
            except Exception:
                log.exception("stopping the acknowledgement service failed")
            self._ack = None
        if self.embedded:
            self._set(replace(self._state, dispatcher=OFF, ack=OFF, ack_url=None))

    # -- start-up, off the GUI thread --------------------------------------------------
    def _start_dispatcher(self) -> DispatcherProcess:
        """Spawn the dispatcher process (blocking: a worker calls it)."""
        from console.gui.embedded import start_dispatcher

        return start_dispatcher(self.db, self.bridge.deliveries_recorded.emit, self.bridge.broadcasts_finished.emit,
                                self._dispatcher_lost.emit)

    def _start_blocking(self) -> _Started:
        from console.gui.embedded import start_ack

        values = settings.get_all(self.db)
        state = ServiceState(public_url=values["ack.public_url"])
        notes: list[str] = []
        dispatcher = None
        if not self.embedded or not values["dispatch.embedded"]:
            state = replace(state, dispatcher=OFF)
        else:
            try:
                dispatcher = self._start_dispatcher()
                state = replace(state, dispatcher=RUNNING)
            except Exception as exc:
                log.exception("the dispatcher did not start")
                state = replace(state, dispatcher=FAILED)
                notes.append(f"dispatcher: {describe(exc)}")
        ack = None
        if not self.embedded or not values["ack.embedded"]:
            state = replace(state, ack=OFF)
        else:
            try:
                ack, url, note = start_ack(self.db, self.bridge.answers_recorded.emit, values["ack.host"],
                                           values["ack.port"], values["ack.cpu"])
                state = replace(state, ack=RUNNING, ack_url=url)
                if note:
                    notes.append(note)
            except Exception as exc:
                log.exception("the acknowledgement service did not start")
                state = replace(state, ack=FAILED)
                notes.append(f"acknowledgement service: {describe(exc)}")
        return _Started(replace(state, notes=tuple(notes)), dispatcher, ack)

    def _started(self, started: _Started) -> None:
        self._dispatcher, self._ack = started.dispatcher, started.ack
        for note in started.state.notes:
            self.bridge.status_message.emit(note)
        self._set(started.state)

    def _lost(self, text: str) -> None:
        self._dispatcher = None
        if self._stopped:
            return
        if self._restarts < len(RESTART_DELAYS_MS):
            delay = RESTART_DELAYS_MS[self._restarts]
            self._restarts += 1
            text = self.tr("{text}; starting it again in {s:g} s").format(text=text, s=delay / 1000)
            QTimer.singleShot(delay, self, self._restart_dispatcher)
        self.bridge.status_message.emit(text)
        self._set(replace(self._state, dispatcher=FAILED, notes=(*self._state.notes, text)))

    def _restart_dispatcher(self) -> None:
        if self._stopped or self._dispatcher is not None:
            return
        self._set(replace(self._state, dispatcher=STARTING))
        self.tasks.run(self._start_dispatcher, self._restarted, lambda exc: self._lost(f"dispatcher: {describe(exc)}"))

    def _restarted(self, dispatcher: DispatcherProcess) -> None:
        if self._stopped:  # the app closed while it started
            dispatcher.stop()
            return
        self._dispatcher = dispatcher
        self.bridge.status_message.emit(self.tr("The dispatcher runs again"))
        self._set(replace(self._state, dispatcher=RUNNING))
        dispatcher.wake()  # what waited meanwhile

    def _start_failed(self, exc: Exception) -> None:
        self._set(ServiceState(FAILED, FAILED, notes=(describe(exc),)))
        self.bridge.status_message.emit(describe(exc))

    def _set(self, state: ServiceState) -> None:
        self._state = state
        self.state_changed.emit(state)
