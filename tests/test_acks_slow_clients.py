"""Slow and hoarding clients against the real service on port 0 (console.acks.httpserver).

Thousands of client sockets are opened from many loopback source addresses
(127.0.0.0/8 is all local), so the per-address cap applies only where a test
means it to. Deadlines are set small through `Guard` so the tests are quick.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from console.acks.httpserver import TIMED_OUT, Guard
from console.acks.server import AckServer
from console.bench.acks import Seeded, seed_broadcast
from console.storage import Database, open_database

REPO_ROOT = Path(__file__).resolve().parent.parent
PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"  # a request head that never ends
FILES = 5000


@pytest.fixture(scope="module", autouse=True)
def enough_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < FILES:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(FILES, hard), hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= FILES, \
        f"these tests hold {FILES} sockets: raise the hard open files limit (ulimit -Hn)"


@pytest.fixture
def seeded(sqlite_url: str) -> Iterator[tuple[Database, Seeded]]:
    db = open_database(sqlite_url)
    yield db, seed_broadcast(db, 3)
    db.dispose()


def source(i: int) -> str:
    """The i-th loopback source address, 127.0.0.2 onwards (127.0.0.1 is the real client's)."""
    return f"127.0.{i // 250}.{2 + i % 250}"


def hold(port: int, count: int, *, address: Callable[[int], str] = source, head: bytes = PARTIAL,
         family: socket.AddressFamily = socket.AF_INET, host: str = "127.0.0.1") -> list[socket.socket]:
    """`count` connections that send `head` and then nothing."""
    held = []
    for i in range(count):
        sock = socket.socket(family)
        sock.bind((address(i), 0))
        sock.connect((host, port))
        if head:
            sock.sendall(head)
        held.append(sock)
    return held


def said_before_closing(sock: socket.socket) -> bytes | None:
    """What the server sent before closing this connection (b"" for nothing), None while it is open."""
    sock.setblocking(False)
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return None
    except ConnectionResetError:
        return b""
    return data


def closed_within(socks: list[socket.socket], seconds: float, enough: int) -> list[bytes | None]:
    """What the server sent before closing each socket (None: still open) once `enough` are closed or
    after `seconds`."""
    said: list[bytes | None] = [None] * len(socks)

    def count() -> int:
        for i, sock in enumerate(socks):
            if said[i] is None:
                said[i] = said_before_closing(sock)
        return sum(1 for reply in said if reply is not None)

    wait_for(lambda: count() >= enough, seconds)
    return said


def read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response (head and Content-Length body) from a blocking socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    assert length, head
    while len(body) < int(length.group(1)):
        chunk = sock.recv(65536)
        assert chunk, data
        body += chunk
    return head + b"\r\n\r\n" + body


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def close_all(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.close()


ANSWERED_WITHIN = 10.0
"""Seconds each step of a person's answer may take while the service is under siege: a bound
against a stopped service (a starved one never answers), not a speed claim. How fast answers
go while 2,000 slow connections are held is `python -m console.bench acks`'s to measure."""


def answer_within(url: str, token: str, seconds: float = ANSWERED_WITHIN) -> None:
    """A real person from 127.0.0.1: opens the page and answers, each step within `seconds`."""
    with requests.Session() as http:
        start = time.monotonic()
        page = http.get(f"{url}/a/{token}", timeout=30)
        assert page.status_code == 200 and time.monotonic() - start < seconds
        check = re.search(r'name="check" value="([^"]*)"', page.text)
        assert check
        start = time.monotonic()
        posted = http.post(f"{url}/a/{token}", data={"check": check.group(1), "answer": "I'm safe"}, timeout=30)
        assert posted.status_code == 200 and "Answer recorded" in posted.text
        assert time.monotonic() - start < seconds
        start = time.monotonic()
        assert http.get(f"{url}/healthz", timeout=30).json()["status"] == "ok"
        assert time.monotonic() - start < seconds


def test_two_thousand_idle_connections_from_many_addresses_do_not_stop_answers(
        seeded: tuple[Database, Seeded]) -> None:
    db, s = seeded
    with AckServer(db, guard=Guard(header_timeout=60)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        held = hold(port, 2000)
        try:
            assert wait_for(lambda: server.connections >= 2000, 30), server.connections
            for token in s.tokens.values():
                answer_within(server.url, token)
            assert server.connections >= 2000  # all still held: nothing was refused to make it work
            assert all(said_before_closing(sock) is None for sock in held)
        finally:
            close_all(held)
        assert server.counts.capped == server.counts.shed == server.counts.timed_out == 0


def test_two_thousand_connections_from_one_address_are_cut_to_its_cap(seeded: tuple[Database, Seeded]) -> None:
    db, s = seeded
    guard = Guard(header_timeout=60, per_client=50, grace=0.5)
    with AckServer(db, guard=guard) as server:
        port = int(server.url.rsplit(":", 1)[1])
        held = hold(port, 2000, address=lambda _i: "127.0.0.2")
        try:
            answer_within(server.url, next(iter(s.tokens.values())))
            assert wait_for(lambda: server.counts.capped == 1950, 30), server.counts
            said = closed_within(held, 30, 1950)
            assert sum(1 for reply in said if reply is not None) == 1950
            assert sum(1 for reply in said if reply is None) <= 50
            assert all(reply in (TIMED_OUT, b"") for reply in said if reply is not None)
            assert server.connections <= 60
            answer_within(server.url, list(s.tokens.values())[1])
        finally:
            close_all(held)
        assert server.counts.timed_out == server.counts.shed == 0


def test_a_crowd_from_one_address_sending_whole_requests_is_never_capped(seeded: tuple[Database, Seeded]) -> None:
    """A company behind one NAT address: hundreds of new connections at once, each sending its request."""
    db, _s = seeded
    with AckServer(db, guard=Guard(per_client=10, grace=0.5)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        crowd = hold(port, 300, address=lambda _i: "127.0.0.3",
                     head=b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        try:
            for sock in crowd:
                sock.settimeout(30)
                assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        finally:
            close_all(crowd)
        assert server.counts.capped == 0


def test_a_request_trickled_one_line_a_second_is_cut_at_the_deadline(seeded: tuple[Database, Seeded]) -> None:
    db, _s = seeded
    with AckServer(db, guard=Guard(header_timeout=3)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            start = time.monotonic()
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            reply = None
            for line in range(30):
                time.sleep(1)
                try:
                    sock.sendall(b"X-Line-%d: slowly\r\n" % line)
                except (BrokenPipeError, ConnectionResetError):
                    break
                reply = said_before_closing(sock)
                if reply is not None:
                    break
                sock.setblocking(True)
            elapsed = time.monotonic() - start
        assert reply == TIMED_OUT
        assert 3 <= elapsed < 10
        assert server.counts.timed_out == 1


def test_keep_alive_between_requests_is_not_cut_by_the_deadline_but_by_the_idle_timeout(
        seeded: tuple[Database, Seeded]) -> None:
    db, _s = seeded
    ask = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with AckServer(db, guard=Guard(header_timeout=1, idle_timeout=4)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as kept, \
                socket.create_connection(("127.0.0.1", port), timeout=30) as silent:
            for _ in range(2):
                kept.sendall(ask)
                assert read_response(kept).startswith(b"HTTP/1.1 200 ")
                time.sleep(2.5)  # more than the header deadline, less than the idle timeout
            # a connection that never sent a byte is closed at the header deadline, without a word
            assert said_before_closing(silent) == b""
            start = time.monotonic()
            assert wait_for(lambda: said_before_closing(kept) is not None, 10)
            assert said_before_closing(kept) in (b"", None)  # closed silently
            assert time.monotonic() - start < 8
        assert server.counts.idle_closed == 1 and server.counts.timed_out == 1


def test_at_the_connection_limit_the_oldest_idle_connections_make_room(seeded: tuple[Database, Seeded]) -> None:
    db, s = seeded
    with AckServer(db, guard=Guard(header_timeout=60, max_connections=100)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        held = hold(port, 150)
        try:
            assert wait_for(lambda: server.counts.shed >= 50, 30), server.counts
            answer_within(server.url, next(iter(s.tokens.values())))
            assert server.connections <= 100
            said = closed_within(held, 10, 50)
            assert said[0] in (TIMED_OUT, b"") and said[-1] is None  # the oldest went first
        finally:
            close_all(held)


def test_a_trusted_proxy_is_not_capped(seeded: tuple[Database, Seeded]) -> None:
    db, _s = seeded
    guard = Guard(header_timeout=60, per_client=5, grace=0.2)
    with AckServer(db, trusted_proxy="127.0.0.1", guard=guard) as server:
        port = int(server.url.rsplit(":", 1)[1])
        from_proxy = hold(port, 20, address=lambda _i: "127.0.0.1")
        others = hold(port, 20, address=lambda _i: "127.0.0.9")
        try:
            assert wait_for(lambda: server.counts.capped == 15, 10), server.counts
            time.sleep(1)
            assert server.counts.capped == 15
            assert all(said_before_closing(sock) is None for sock in from_proxy)
        finally:
            close_all(from_proxy + others)


def test_ipv6_clients_are_capped_by_their_64(seeded: tuple[Database, Seeded]) -> None:
    db, _s = seeded
    with AckServer(db, "::1", 0, guard=Guard(header_timeout=60, per_client=10, grace=0.2)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        held = hold(port, 30, address=lambda _i: "::1", family=socket.AF_INET6, host="::1")
        try:
            assert wait_for(lambda: server.counts.capped == 20, 10), server.counts
        finally:
            close_all(held)


def test_serve_acks_says_when_the_open_files_limit_is_too_low(sqlite_url: str) -> None:
    open_database(sqlite_url).dispose()
    command = f"ulimit -n 512 && exec {shlex.quote(sys.executable)} -m console serve-acks --db {sqlite_url} --port 0"
    proc = subprocess.Popen(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        found = re.match(r"acknowledgement service on (http://127\.0\.0\.1:\d+) ", first)
        assert found, first + (proc.stderr.read() if proc.stderr else "")
        assert "up to 384 connections" in first
        assert requests.get(f"{found.group(1)}/healthz", timeout=10).json()["status"] == "ok"
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "WARNING console.acks: this process may open only 512 files (ulimit -n), so the acknowledgement " \
           "service holds at most 384 connections instead of 10000" in err
    assert "LimitNOFILE" in err and "Traceback" not in err
