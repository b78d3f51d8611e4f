"""Serving the acknowledgement app with waitress, in a background thread.

The desktop app runs the service inside its own process; `serve-acks` runs it
alone (several instances may share one PostgreSQL). Either way this class owns
the waitress server (guarded against slow and hoarding clients, see
console.acks.httpserver), its loop thread and the app's writer thread, and
stops them in an order that loses no answer: stop accepting connections, let
requests in flight finish (their answers commit), close the connections, then
commit whatever the writer still holds.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from waitress import wasyncore

from console.acks.affinity import AUTO, CpuChoice, choose_cpu, pinned
from console.acks.errors import AckServerError
from console.acks.httpserver import Guard, GuardCounts, connection_capacity, create_server
from console.acks.limits import client_key
from console.acks.wsgi import AckApp, make_app
from console.storage import Database

log = logging.getLogger("console.acks")

DEFAULT_THREADS = 16
"""Request threads. Enough answers in flight to fill a group commit, few enough that
threads do not queue for the GIL: measured on 2 cores, 12-16 beat 8 and 24-48 for
both GET and POST (`python -m console.bench acks --threads N`)."""


class AckServer:
    """The acknowledgement service on `host:port` (port 0: any free port).

    Args:
        db: the database.
        host: address to listen on.
        port: TCP port; 0 picks a free one (see `url` after `start()`).
        threads: waitress request threads.
        trusted_proxy: address of a reverse proxy whose X-Forwarded-For/-Proto to believe
            (without it the client address is the TCP peer, as it must be for rate limiting).
        cpu: run the service's threads on this CPU; "auto" picks one, "all" leaves them free
            (console.acks.affinity says why one CPU serves faster).
        guard: deadlines and connection caps against slow or hoarding clients
            (console.acks.httpserver); the trusted proxy's address is exempt from the per-client cap.
        app_options: passed to `make_app` (e.g. a limiter or a recorder).
    """

    def __init__(self, db: Database, host: str = "127.0.0.1", port: int = 0, *, threads: int = DEFAULT_THREADS,
                 trusted_proxy: str | None = None, cpu: CpuChoice = AUTO, guard: Guard | None = None,
                 **app_options: Any) -> None:
        self._db = db
        self._host = host
        self._port = port
        self._threads = threads
        self._trusted_proxy = trusted_proxy
        self._cpu = cpu
        self.cpu: int | None = None  # the CPU the threads run on, once started (None: not pinned)
        self.guard = guard or Guard()
        if trusted_proxy and trusted_proxy != "*":
            self.guard = replace(self.guard, exempt=self.guard.exempt | {client_key(trusted_proxy)})
        self.capacity_warning: str | None = None  # set by start() when the open files limit is too low
        self._app_options = app_options
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self.app: AckApp | None = None

    @property
    def url(self) -> str:
        """The bound base URL, e.g. http://127.0.0.1:41234 (only while running)."""
        if self._url is None:
            raise AckServerError("the acknowledgement service is not running")
        return self._url

    @property
    def counts(self) -> GuardCounts:
        """Connections refused or closed by the guard so far (zeros when not running)."""
        return self._server.counts if self._server is not None else GuardCounts()

    @property
    def connections(self) -> int:
        """Client connections open now (0 when not running)."""
        return len(self._server.channels) if self._server is not None else 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> str:
        """Bind, start serving in a background thread, and return the base URL."""
        if self._thread is not None:
            return self.url
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" under a crowd
        capacity, self.capacity_warning = connection_capacity(self.guard.max_connections)
        if self.capacity_warning:
            log.warning("%s", self.capacity_warning)
            self.guard = replace(self.guard, max_connections=capacity)
        try:
            cpu = choose_cpu(self._cpu)
        except ValueError as exc:
            raise AckServerError(f"cannot run the acknowledgement service on CPU {self._cpu}: {exc}") from None
        sock = _bind(self._host, self._port)  # before anything else: a failure leaves nothing to clean up
        with pinned(cpu):  # every thread started here (writer, request threads, loop) stays on `cpu`
            try:
                app = make_app(self._db, **self._app_options)
            except BaseException:
                sock.close()
                raise
            server = create_server(app, sock, threads=self._threads, guard=self.guard, ident="",
                                   max_request_body_size=64 * 1024, **self._proxy_options())
            self._server, self.app, self.cpu = server, app, cpu
            host = str(server.effective_host)
            self._url = f"http://{'[' + host + ']' if ':' in host else host}:{server.effective_port}"
            self._thread = threading.Thread(target=server.run, name="ack-server", daemon=True)
            self._thread.start()
        log.info("acknowledgement service listening on %s (%s)", self._url,
                 "all CPUs" if cpu is None else f"threads on CPU {cpu}")
        return self._url

    def _proxy_options(self) -> dict[str, Any]:
        if not self._trusted_proxy:
            return {}
        return {"trusted_proxy": self._trusted_proxy, "trusted_proxy_count": 1,
                "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
                "clear_untrusted_proxy_headers": True}

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; requests in flight finish first (up to `timeout` seconds)."""
        server, thread, app = self._server, self._thread, self.app
        if server is None or thread is None or app is None:
            return
        deadline = time.monotonic() + timeout
        _in_loop(server, lambda: _stop_accepting(server))
        dispatcher = server.task_dispatcher
        while (dispatcher.active_count or dispatcher.queue) and time.monotonic() < deadline:
            time.sleep(0.02)
        while any(ch.total_outbufs_len for ch in list(server.channels.values())) \
                and time.monotonic() < deadline:
            time.sleep(0.02)  # responses still being written out
        _in_loop(server, lambda: _close_everything(server))
        thread.join(max(0.5, deadline - time.monotonic()))
        dispatcher.shutdown(timeout=max(0.5, deadline - time.monotonic()))
        app.close()
        self._server = self._thread = self.app = None
        self._url = self.cpu = None
        log.info("acknowledgement service stopped")

    def __enter__(self) -> AckServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    """A bound TCP socket for `host:port`, or an AckServerError that says why not."""
    where = f"{host}:{port}"
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise AckServerError(f"cannot listen on {where}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        hint = " (another program uses this port; choose another with --port)" \
            if exc.errno == errno.EADDRINUSE else ""
        raise AckServerError(f"cannot listen on {where}: {exc.strerror or exc}{hint}") from None
    return sock


def _in_loop(server: Any, thunk: Callable[[], None]) -> None:
    """Run `thunk` in the server's loop thread (asyncore objects are not thread-safe)."""
    done = threading.Event()

    def run() -> None:
        try:
            thunk()
        finally:
            done.set()

    server.trigger.pull_trigger(run)
    done.wait(5.0)


def _stop_accepting(server: Any) -> None:
    wasyncore.dispatcher.close(server)  # the listening socket only; the trigger stays


def _close_everything(server: Any) -> None:
    for channel in list(server._map.values()):
        if channel is not server.trigger:
            channel.close()
    server.trigger.close()  # the map is now empty: the loop ends
