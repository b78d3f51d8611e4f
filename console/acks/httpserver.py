"""waitress, guarded against clients that connect and then hold on.

Stock waitress gives a connection `channel_timeout` seconds of silence, and any
byte starts the count again: a client that sends one header line every 20 s
holds its connection for ever, and about 1,000 of them (`connection_limit`) stop
the service. Its select() loop also dies for good ("filedescriptor out of
range") once a descriptor passes 1,024, and out of descriptors (EMFILE) it
logs a traceback on every loop turn, spinning. Here:

* a request (its head, and its body of at most 64 KiB) must arrive within
  `header_timeout` seconds of its first byte; the first one within that time of
  the connection being accepted. Trickling does not reset it. A connection that
  misses it gets 408 (or, if it sent nothing, is just closed);
* an idle keep-alive connection (nothing pending) is closed after `idle_timeout`;
* one client address (IPv6: its /64) may hold at most `per_client` connections
  that do nothing useful: idle between requests, or still sending a request
  after `grace` seconds. Its oldest such connections beyond that are closed.
  Connections whose request is being served, or began less than `grace` ago,
  never count: a company behind one NAT address whose people all press their
  button at once (hundreds of new connections in the same second) is never cut.
  A trusted proxy's address is exempt;
* when `max_connections` are open, the oldest unfinished requests and then the
  longest idle connections make room, so new clients are always accepted;
* the loop is console.acks.eventloop (epoll): its cost follows the busy
  connections, not the open ones, and it has no select() limit of 1,024 descriptors.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from console.acks import eventloop
from console.acks.limits import client_key

log = logging.getLogger("console.acks")

ACCEPT_BATCH = 64
"""Connections accepted per readiness report: a burst drains in a few loop turns."""

REPORT_EVERY = 60.0
"""Seconds between log lines that count the connections the guard closed."""

_LATE = b"The request did not arrive in time. Please try again.\n"
TIMED_OUT = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
             b"Content-Length: %d\r\n\r\n%s" % (len(_LATE), _LATE))


@dataclass(frozen=True)
class Guard:
    """How long a request may take to arrive and how many connections a client may hold.

    Args:
        header_timeout: seconds from a request's first byte (the first request: from the
            connection's accept) until its whole head and body must have arrived.
        idle_timeout: seconds an idle keep-alive connection stays open.
        per_client: connections one address (IPv6: one /64) may hold idle or stuck.
        grace: seconds a request may take to arrive before its connection counts as stuck.
        max_connections: connections held at most, all clients together.
        exempt: client keys (console.acks.limits.client_key) the per-client cap ignores.
    """

    header_timeout: float = 10.0
    idle_timeout: float = 60.0
    per_client: int = 256
    grace: float = 2.0
    max_connections: int = 10_000
    exempt: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if min(self.header_timeout, self.idle_timeout, self.grace) <= 0 or min(self.per_client,
                                                                               self.max_connections) < 1:
            raise ValueError("timeouts and connection limits must be positive")


@dataclass
class GuardCounts:
    """Connections the guard closed since the service started (tests and the periodic log line read them)."""

    timed_out: int = 0  # their request did not arrive within header_timeout
    capped: int = 0  # beyond their address's per_client idle or stuck connections
    idle_closed: int = 0  # keep-alive connections idle for idle_timeout
    shed: int = 0  # closed to make room at max_connections


class GuardedChannel(HTTPChannel):
    """waitress's channel, remembering since when a request has been arriving."""

    server: GuardedServer
    _fileno: int  # set by waitress's dispatcher (types-waitress leaves it out)

    def __init__(self, server: GuardedServer, sock: socket.socket, addr: Any, adj: Adjustments,
                 map: dict[int, Any] | None = None) -> None:
        self.head_since: float | None = time.monotonic()  # None: no request arriving
        self.client = client_key(str(addr[0]))
        super().__init__(server, sock, addr, adj, map=map)

    def received(self, data: bytes) -> bool:
        if self.head_since is None:
            self.head_since = time.monotonic()
        result: bool = super().received(data)
        if self.requests and self.request is None:  # a whole request arrived, and nothing after it
            self.head_since = None
        return result

    def del_channel(self, map: Mapping[int, Any] | None = None) -> None:
        self.server.leaving.discard(self)
        super().del_channel(map)

    @property
    def quiet(self) -> bool:
        """True when only this connection's own events can change it (no request being served)."""
        return not (self.requests or self.total_outbufs_len or self.will_close or self.close_when_flushed)

    def since(self, skew: float) -> float:
        """Monotonic time since when this quiet connection waits for its request, or has been idle."""
        return self.head_since if self.head_since is not None else self.last_activity - skew

    def time_out(self) -> None:
        """Close it: with a 408 if part of a request came, silently if nothing did."""
        if self.request is None:
            self.will_close = True
            return
        with self.outbuf_lock:
            self.outbufs[-1].append(TIMED_OUT)
            self.total_outbufs_len += len(TIMED_OUT)
        self.close_when_flushed = True


class GuardedServer(TcpWSGIServer):
    """A TCP waitress server on an already bound socket, with the guard of the module docstring."""

    channel_class = GuardedChannel
    # set by waitress, left out of types-waitress:
    _map: eventloop.TrackedMap
    effective_host: str
    effective_port: int

    def __init__(self, app: Any, sock: socket.socket, adj: Adjustments, guard: Guard,
                 dispatcher: ThreadedTaskDispatcher) -> None:
        self.guard = guard
        self.counts = GuardCounts()
        self.leaving: set[GuardedChannel] = set()  # told to close, not closed yet
        self._next_sweep = 0.0
        self._next_report = time.monotonic() + REPORT_EVERY
        self._reported = GuardCounts()
        self._accept_paused_until = 0.0
        self._sweep_every = min(1.0, guard.header_timeout / 4, guard.idle_timeout / 4, guard.grace / 2)
        self.socket_map = eventloop.TrackedMap()
        sockinfo = (sock.family, sock.type, sock.proto, sock.getsockname())
        super().__init__(app, self.socket_map, True, sock, dispatcher=dispatcher, adj=adj, bind_socket=False,
                         sockinfo=sockinfo)

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        try:
            if eventloop.AVAILABLE:
                eventloop.run(self.socket_map, self.adj.asyncore_loop_timeout, _quiet)
            else:
                wasyncore.loop(timeout=self.adj.asyncore_loop_timeout, map=self.socket_map, use_poll=True)
        except (SystemExit, KeyboardInterrupt):
            self.task_dispatcher.shutdown()

    def readable(self) -> bool:
        """Asked on every loop turn: runs the timeouts, and says whether to accept."""
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_every
            try:
                self._sweep(now)
            except Exception:  # the loop must go on whatever happens here
                log.exception("acknowledgement service: checking connection timeouts failed")
        return self.accepting and now >= self._accept_paused_until

    def maintenance(self, now: float) -> None:
        """waitress's own idle check: replaced by `_sweep`."""

    @property
    def channels(self) -> dict[int, GuardedChannel]:
        """waitress's `active_channels`, descriptor to channel (types-waitress says one channel)."""
        return cast("dict[int, GuardedChannel]", self.active_channels)

    @property
    def open_count(self) -> int:
        """Connections held, less those already told to close."""
        return len(self.channels) - len(self.leaving)

    # --- accepting ----------------------------------------------------------------------

    def handle_accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            if self.open_count >= self.guard.max_connections and not self._make_room():
                return
            try:
                pair = self.accept()
            except OSError as exc:  # EMFILE and the like: pause rather than spin on a readable listening socket
                self._accept_paused_until = time.monotonic() + 0.5
                log.warning("acknowledgement service: cannot accept connections (%s); pausing 0.5 s",
                            exc.strerror or exc)
                return
            if pair is None:
                return
            conn, addr = pair
            try:
                self.set_socket_options(conn)
            except OSError:  # the client already went away
                conn.close()
                continue
            self.channel_class(self, conn, addr, self.adj, map=self._map)

    def _make_room(self) -> bool:
        """At max_connections: close the oldest unfinished requests, then the longest idle connections."""
        skew = time.time() - time.monotonic()
        quiet = [ch for ch in self.channels.values() if ch.quiet and ch not in self.leaving]
        quiet.sort(key=lambda ch: (ch.head_since is None, ch.since(skew)))
        victims = quiet[:max(1, min(ACCEPT_BATCH, self.guard.max_connections // 100))]
        for channel in victims:
            self._close(channel)
        self.counts.shed += len(victims)
        return bool(victims)

    def _close(self, channel: GuardedChannel) -> None:
        """Close a channel on the loop's next turn.

        Closing it now could hand its descriptor number to a socket accepted later in this
        turn, while the turn still holds events for the old one.
        """
        channel.time_out()
        self.leaving.add(channel)
        self.socket_map.touch(channel._fileno)

    # --- timeouts and the per-client cap ------------------------------------------------

    def _sweep(self, now: float) -> None:
        guard = self.guard
        late, stuck = now - guard.header_timeout, now - guard.grace
        skew = time.time() - now
        stale = now - guard.idle_timeout
        holding: dict[str, list[GuardedChannel]] = {}
        for channel in list(self.channels.values()):
            if channel in self.leaving:
                continue
            if not channel.quiet:
                if channel.total_outbufs_len and not channel.requests and channel.last_activity - skew < stale \
                        and not (channel.will_close or channel.close_when_flushed):
                    self._close(channel)  # a response nobody reads: waitress's own rule
                    self.counts.idle_closed += 1
                continue
            since = channel.since(skew)
            if channel.head_since is not None:
                if since < late:
                    self._close(channel)
                    self.counts.timed_out += 1
                    continue
                if since >= stuck:
                    continue  # still arriving, within its grace
            elif since < stale:
                self._close(channel)
                self.counts.idle_closed += 1
                continue
            if channel.client not in guard.exempt:
                holding.setdefault(channel.client, []).append(channel)
        for channels in holding.values():
            if len(channels) > guard.per_client:
                channels.sort(key=lambda ch: ch.since(skew))
                for channel in channels[:len(channels) - guard.per_client]:
                    self._close(channel)
                    self.counts.capped += 1
        if now >= self._next_report:
            self._next_report = now + REPORT_EVERY
            self._report(holding)

    def _report(self, holding: dict[str, list[GuardedChannel]]) -> None:
        c, r = self.counts, self._reported
        timed_out, capped, shed = c.timed_out - r.timed_out, c.capped - r.capped, c.shed - r.shed
        if timed_out or capped or shed:
            busiest = max(holding.items(), key=lambda item: len(item[1]), default=None)
            log.warning("acknowledgement service, last %.0f s: closed %d connections whose request did not arrive "
                        "within %g s, %d beyond their address's %d idle or stuck ones, %d to make room at %d; "
                        "%d open%s", REPORT_EVERY, timed_out, self.guard.header_timeout, capped,
                        self.guard.per_client, shed, self.guard.max_connections, len(self.channels),
                        f", most held by {busiest[0]} ({len(busiest[1])})" if busiest else "")
        self._reported = GuardCounts(**vars(c))


def _quiet(obj: Any) -> bool:
    if isinstance(obj, GuardedChannel):
        return obj.quiet
    return not isinstance(obj, GuardedServer)  # the trigger never changes; the server's readable() does work


def create_server(app: Any, sock: socket.socket, *, threads: int, guard: Guard, **options: Any) -> GuardedServer:
    """A GuardedServer on the bound `sock`; `options` are waitress adjustments."""
    adj = Adjustments(sockets=[sock], threads=threads, connection_limit=guard.max_connections,
                      channel_timeout=max(1, round(guard.idle_timeout)), **options)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    return GuardedServer(app, sock, adj, guard, dispatcher)


RESERVED_FILES = 256
"""Descriptors kept for all but client connections (database, logs, the desktop app), at most a quarter."""


def raise_file_limit(wanted: int) -> int | None:
    """Raise this process's soft limit of open files towards `wanted`, at most to the hard limit.

    Returns the soft limit now in force, None where there is none or it cannot be read.
    """
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:  # macOS refuses more than OPEN_MAX
            log.info("could not raise the open files limit from %d to %d: %s", soft, target, exc)
    return None if soft == resource.RLIM_INFINITY else soft


def connection_capacity(wanted: int) -> tuple[int, str | None]:
    """Connections the service can hold given the open files limit (raised first), and a warning if fewer."""
    soft = raise_file_limit(wanted + RESERVED_FILES)
    if soft is None:
        return wanted, None
    fits = soft - min(RESERVED_FILES, soft // 4)
    if fits >= wanted:
        return wanted, None
    return fits, (f"this process may open only {soft} files (ulimit -n), so the acknowledgement service holds at "
                  f"most {fits} connections instead of {wanted} and fewer idle or slow clients take it down: "
                  f"raise the hard limit (ulimit -Hn, or LimitNOFILE= for a systemd service) to at least "
                  f"{wanted + RESERVED_FILES}")
