"""An SMTP receiver in its own process that only counts, for benchmarks.

Run in a separate process so a benchmark's sender does not share a CPU (and the
GIL) with the receiver.
"""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection
from typing import Any

from console.mailsink.listening import Listening
from console.spawned import CONTEXT, ChildExited, spawn_and_wait


class _Counter:
    """Three numbers in shared memory; the receiver's loop is the only writer."""

    def __init__(self, count: Any, first_at: Any, last_at: Any) -> None:
        self.count, self.first_at, self.last_at = count, first_at, last_at

    def hit(self) -> None:
        now = time.time()
        if self.count.value == 0:
            self.first_at.value = now
        self.last_at.value = now
        self.count.value += 1


class _CountingSMTP(asyncio.Protocol):
    """Just enough SMTP to accept mail and count it, for benchmarks.

    aiosmtpd costs ~0.8 ms of CPU per message on the 2-core CI machine (address parsing,
    a coroutine per command); this costs ~0.2 ms, nearly all of it the kernel's. Commands are answered
    in order, so PIPELINING comes free. The content is not kept.
    """

    def __init__(self, counter: _Counter, transports: set[asyncio.BaseTransport]) -> None:
        self._counter = counter
        self._transports = transports
        self._buf = b""
        self._in_data = False
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._transports.add(transport)
        transport.write(b"220 mailsink ESMTP\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._transports.discard(self._transport)

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        buf, replies = self._buf + data, []
        while buf:
            if self._in_data:
                end = buf.find(b"\r\n.\r\n")
                if end < 0:
                    buf = buf[-4:]  # the content is not kept; a split terminator is
                    break
                buf, self._in_data = buf[end + 5:], False
                self._counter.hit()
                replies.append(b"250 2.0.0 OK\r\n")
                continue
            newline = buf.find(b"\n")
            if newline < 0:
                break
            verb, buf = buf[:4].upper(), buf[newline + 1:]
            if verb == b"QUIT":
                self._transport.write(b"".join(replies) + b"221 2.0.0 Bye\r\n")
                self._transport.close()
                return
            replies.append(_REPLIES.get(verb, b"502 5.5.2 Command not implemented\r\n"))
            if verb == b"DATA":
                # Content starts on a new line: a leading CRLF lets one search find
                # the terminator of an empty message too.
                buf, self._in_data = b"\r\n" + buf, True
        self._buf = buf
        if replies:
            self._transport.write(b"".join(replies))


_REPLIES = {
    b"EHLO": b"250-mailsink\r\n250-8BITMIME\r\n250 PIPELINING\r\n",
    b"HELO": b"250 mailsink\r\n",
    b"MAIL": b"250 2.1.0 OK\r\n",
    b"RCPT": b"250 2.1.5 OK\r\n",
    b"DATA": b"354 End data with <CR><LF>.<CR><LF>\r\n",
    b"RSET": b"250 2.0.0 OK\r\n",
    b"NOOP": b"250 2.0.0 OK\r\n",
}


def _serve_counting(conn: Connection, host: str, port: int,
                    count: Any, first_at: Any, last_at: Any) -> None:
    """Child process body: listen, report the port, serve until told to stop (or orphaned)."""
    asyncio.run(_count_until_stopped(conn, host, port, _Counter(count, first_at, last_at)))


async def _count_until_stopped(conn: Connection, host: str, port: int,
                               counter: _Counter) -> None:
    loop = asyncio.get_running_loop()
    transports: set[asyncio.BaseTransport] = set()
    try:
        server = await loop.create_server(lambda: _CountingSMTP(counter, transports), host, port)
    except OSError as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        conn.close()
        return
    conn.send(("ready", int(server.sockets[0].getsockname()[1])))
    stopped = asyncio.Event()
    # Readable means "stop" was sent, or EOF because the parent died.
    loop.add_reader(conn.fileno(), stopped.set)
    await stopped.wait()
    loop.remove_reader(conn.fileno())
    server.close()
    for transport in list(transports):
        transport.close()
    await server.wait_closed()
    conn.close()


class MailSinkProcess(Listening):
    """Counting SMTP receiver in a separate (spawned) process, for benchmarks.

    Only counts messages and stamps the first and last arrival (``time.time()``), so
    senders can compute throughput. A program that uses it must guard its entry point
    with ``if __name__ == "__main__":`` (spawn re-imports the main module).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._requested_port = port
        self._count = CONTEXT.RawValue("q", 0)
        self._first_at = CONTEXT.RawValue("d", 0.0)
        self._last_at = CONTEXT.RawValue("d", 0.0)
        self._proc: Any = None
        self._conn: Connection | None = None
        self._port = 0

    @property
    def count(self) -> int:
        return int(self._count.value)

    @property
    def first_at(self) -> float:
        return float(self._first_at.value)

    @property
    def last_at(self) -> float:
        return float(self._last_at.value)

    def start(self, timeout: float = 30) -> MailSinkProcess:
        """Spawn the receiver; return once it listens."""
        if self._proc is not None:
            raise RuntimeError("MailSinkProcess already started")
        try:
            self._proc, self._conn, (status, value) = spawn_and_wait(
                _serve_counting, (self._host, self._requested_port, self._count, self._first_at, self._last_at),
                name="mailsink", daemon=True, timeout=timeout)
        except TimeoutError:
            raise TimeoutError(f"MailSinkProcess did not start listening within {timeout:g} s") from None
        except ChildExited as exc:
            raise RuntimeError(f"MailSinkProcess failed to start: receiver process exited with {exc.exitcode}") \
                from None
        if status != "ready":
            self.stop()
            raise RuntimeError(f"MailSinkProcess failed to start: {value}")
        self._port = int(value)
        return self

    def reset(self) -> None:
        """Zero the counters (call while no mail is in flight)."""
        self._count.value = 0
        self._first_at.value = 0.0
        self._last_at.value = 0.0

    def wait_for_count(self, n: int, timeout: float = 30) -> int:
        """Block until ``n`` messages were counted; return the count.

        Polls shared memory every 2 ms: a cross-process condition would cost the
        receiver a lock per message.
        """
        deadline = time.monotonic() + timeout
        while self.count < n:
            if self._proc is None or not self._proc.is_alive():
                raise RuntimeError(f"MailSinkProcess is not running ({self.count} counted)")
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"MailSinkProcess on port {self._port}: expected {n} message(s) within "
                    f"{timeout:g} s, {self.count} arrived")
            time.sleep(0.002)
        return self.count

    def stop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send("stop")
            except (BrokenPipeError, OSError):
                pass
        if self._proc is not None:
            self._proc.join(10)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
            self._proc.close()
            self._proc = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._port = 0

    def __enter__(self) -> MailSinkProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
