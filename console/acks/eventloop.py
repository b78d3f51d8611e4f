"""An epoll loop for waitress whose cost follows the busy connections, not the open ones.

waitress's own loop (wasyncore.poll2) asks every channel whether it is readable
and writable and builds a new poll set on every turn. With 2,000 idle
connections held open that is thousands of Python calls per turn on the CPU the
request threads share (measured, GETs at concurrency 50 on the 2-CPU machine:
26-46% fewer answers a second, p99 4-9x longer, and a burst of connections
accepted one per turn, so /healthz took 3 s to answer). Here the kernel keeps the
registrations (epoll) and a turn asks again only the objects whose readiness can have
changed: those that had an event or
were added or removed, those with a request in flight (a request thread changes
them), and those `quiet` says may change on their own (the server: its
`readable()` runs the timeouts). Every object is asked again once a second, as
a safety net. Linux only; elsewhere waitress's poll() loop runs instead.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from typing import Any

from waitress import wasyncore

_READ = select.POLLIN | select.POLLPRI
_WRITE = select.POLLOUT

AVAILABLE = hasattr(select, "epoll")


class TrackedMap(dict[int, Any]):
    """wasyncore's socket map (fd -> dispatcher), noting which descriptors were added or removed.

    wasyncore only ever does `map[fd] = obj` and `del map[fd]`; others call `touch(fd)`
    after changing an object's readiness from outside its own events.
    """

    def __init__(self) -> None:
        super().__init__()
        self.changed: set[int] = set()

    def __setitem__(self, fd: int, obj: Any) -> None:
        super().__setitem__(fd, obj)
        self.changed.add(fd)

    def __delitem__(self, fd: int) -> None:
        super().__delitem__(fd)
        self.changed.add(fd)

    def touch(self, fd: int | None) -> None:
        if fd is not None:
            self.changed.add(fd)


def run(socket_map: TrackedMap, timeout: float, quiet: Callable[[Any], bool], *,
        full_every: float = 1.0) -> None:
    """Serve `socket_map` until it is empty, like `wasyncore.loop(use_poll=True)`.

    Args:
        socket_map: the map every dispatcher was created with.
        timeout: seconds one wait may last.
        quiet: True when an object's readiness can change only through its own events
            (asked before its readiness, so an object a request thread just let go of is
            asked once more on the next turn).
        full_every: seconds between turns that ask every object.
    """
    epoll = select.epoll()
    known: dict[int, tuple[Any, int]] = {}  # fd -> (object, registered events; 0 = not registered)
    watched: set[int] = set()  # asked on every turn
    next_full = 0.0
    try:
        while socket_map:
            now = time.monotonic()
            if now >= next_full:
                ask: set[int] = set(socket_map) | set(known)
                next_full = now + full_every
            else:
                ask = socket_map.changed | watched
            socket_map.changed = set()
            for fd in ask:
                _settle(epoll, socket_map, known, watched, fd, quiet)
            wait = 0.0 if socket_map.changed else timeout  # an object was touched meanwhile
            for fd, events in epoll.poll(wait):
                obj = socket_map.get(fd)
                if obj is not None:
                    wasyncore.readwrite(obj, events)
                    socket_map.changed.add(fd)
    finally:
        epoll.close()


def _settle(epoll: Any, socket_map: TrackedMap, known: dict[int, tuple[Any, int]], watched: set[int],
            fd: int, quiet: Callable[[Any], bool]) -> None:
    """Bring one descriptor's registration in line with its object's readiness."""
    obj = socket_map.get(fd)
    old_obj, old_events = known.get(fd, (None, 0))
    if obj is None:  # closed: the kernel dropped it with the descriptor
        known.pop(fd, None)
        watched.discard(fd)
        if old_events:
            _forget(epoll, fd)
        return
    if quiet(obj):
        watched.discard(fd)
    else:
        watched.add(fd)
    events = 0
    if obj.readable():
        events |= _READ
    if obj.writable() and not obj.accepting:
        events |= _WRITE
    known[fd] = (obj, events)
    if old_obj is not obj:  # new, or a new socket that got a closed one's number
        if events:
            _register(epoll, fd, events)
    elif events != old_events:
        if not events:
            _forget(epoll, fd)
        elif not old_events:
            _register(epoll, fd, events)
        else:
            epoll.modify(fd, events)


def _register(epoll: Any, fd: int, events: int) -> None:
    try:
        epoll.register(fd, events)
    except FileExistsError:
        epoll.modify(fd, events)


def _forget(epoll: Any, fd: int) -> None:
    try:
        epoll.unregister(fd)
    except (FileNotFoundError, OSError):  # already gone with its descriptor
        pass
