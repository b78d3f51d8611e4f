"""A real SMTP server on loopback that keeps what it receives.

Tests, the benchmarks and the desktop demo send real email through Apprise; this is
where it lands. ``MailSink`` runs in a thread of the calling process and keeps every
message; ``MailSinkProcess`` runs in its own process and only counts, so that a
benchmark's sender does not share a CPU (and the GIL) with the receiver.

aiosmtpd's ``Controller(port=0)`` cannot be used: after binding it connects to
``self.port`` (0) to check that the server answers. So the listening socket is bound
here (port 0 allowed) and handed to the Controller, which leaves no window for another
process to take the port.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import html.parser
import logging
import multiprocessing
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from multiprocessing.connection import Connection
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)

_SERVER_NAME = "mailsink.localhost"  # else aiosmtpd calls getfqdn() per connection


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the sink received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    text: str
    html: str | None
    received_at: float
    raw: bytes


def parse_mail(raw: bytes, mail_from: str, rcpt_tos: tuple[str, ...],
               received_at: float) -> ReceivedMail:
    """Decode a message: the text/plain body, else the text of the HTML body."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    plain = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    html_body = _content(html_part) if html_part is not None else None
    if plain is not None:
        text = _content(plain)
    else:
        text = html_to_text(html_body) if html_body is not None else ""
    return ReceivedMail(mail_from=mail_from, rcpt_tos=rcpt_tos,
                        subject=str(msg.get("subject", "")), text=text, html=html_body,
                        received_at=received_at, raw=raw)


def _content(part: Any) -> str:
    return str(part.get_content()).replace("\r\n", "\n")


class _TextExtractor(html.parser.HTMLParser):
    _SKIP = {"script", "style", "head", "title"}
    _BREAK = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML body, one line per block, for mails without a plain part."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).splitlines())
    return "\n".join(line for line in lines if line)


def quiet_aiosmtpd() -> None:
    """aiosmtpd logs every connection at INFO; keep only warnings unless told otherwise."""
    for name in ("mail.log", "mail.debug"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


class _BoundController(Controller):
    """A Controller serving on a socket bound beforehand, so port 0 works without a race."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock,
                                       ssl=self.ssl_context)


def start_controller(handler: Any, host: str, port: int = 0) -> Controller:
    """Start an aiosmtpd Controller on ``host:port`` (port 0: a free one)."""
    quiet_aiosmtpd()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        controller = _BoundController(handler, sock, server_hostname=_SERVER_NAME,
                                      ready_timeout=10)
        controller.start()
    except BaseException:
        sock.close()
        raise
    return controller


@dataclass
class _Entry:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    received_at: float
    parsed: ReceivedMail | None = field(default=None)

    def mail(self) -> ReceivedMail:
        # Parsed on first use: receiving stays cheap when thousands arrive.
        if self.parsed is None:
            self.parsed = parse_mail(self.raw, self.mail_from, self.rcpt_tos, self.received_at)
        return self.parsed


def _failure_reply(code: int) -> str:
    if 400 <= code < 500:
        return f"{code} 4.3.0 Temporary failure (MailSink.fail_next)"
    return f"{code} 5.0.0 Rejected (MailSink.fail_next)"


class MailSink:
    """SMTP server in a background thread that records every message.

    Args:
        host: address to listen on.
        port: port, 0 for a free one.
        on_message: called with each message, from the server's thread (keep it short
            and thread-safe; in Qt, emit a signal from it).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 on_message: Callable[[ReceivedMail], None] | None = None) -> None:
        self._host = host
        self._requested_port = port
        self.on_message = on_message
        self._controller: Controller | None = None
        self._port = 0
        self._cond = threading.Condition()
        self._entries: list[_Entry] = []
        self._fail_remaining = 0
        self._fail_code = 451
        self._rejected = 0

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("MailSink is not started")
        return self._port

    @property
    def messages(self) -> list[ReceivedMail]:
        """A copy of the messages received so far, oldest first."""
        with self._cond:
            entries = list(self._entries)
        return [entry.mail() for entry in entries]

    @property
    def count(self) -> int:
        """How many messages arrived (cheap: nothing is parsed)."""
        with self._cond:
            return len(self._entries)

    @property
    def rejected(self) -> int:
        """How many DATA commands were refused by ``fail_next``."""
        with self._cond:
            return self._rejected

    def start(self) -> MailSink:
        if self._controller is not None:
            raise RuntimeError("MailSink already started")
        self._controller = start_controller(_SinkHandler(self), self._host, self._requested_port)
        self._port = int(self._controller.port)
        log.debug("MailSink listening on %s:%d", self._host, self.port)
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        """Forget the messages received so far (``wait_for`` counts from zero again)."""
        with self._cond:
            self._entries.clear()

    def fail_next(self, n: int, code: int = 451) -> None:
        """Answer the next ``n`` DATA commands with ``code`` (4xx: temporary), to test retries."""
        if not 400 <= code < 600:
            raise ValueError(f"SMTP failure code must be 4xx or 5xx, not {code}")
        with self._cond:
            self._fail_remaining = n
            self._fail_code = code

    def wait_for(self, count: int, timeout: float = 10) -> list[ReceivedMail]:
        """Block until at least ``count`` messages arrived; return all of them.

        Raises:
            TimeoutError: fewer arrived within ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._entries) >= count, timeout):
                raise TimeoutError(
                    f"MailSink on port {self._port}: expected {count} message(s) within "
                    f"{timeout:g} s, {len(self._entries)} arrived")
        return self.messages

    def _receive(self, mail_from: str, rcpt_tos: tuple[str, ...], raw: bytes) -> str:
        with self._cond:
            if self._fail_remaining > 0:
                self._fail_remaining -= 1
                self._rejected += 1
                return _failure_reply(self._fail_code)
            entry = _Entry(mail_from, rcpt_tos, raw, time.time())
            self._entries.append(entry)
            self._cond.notify_all()
        callback = self.on_message
        if callback is not None:
            try:
                callback(entry.mail())
            except Exception:
                log.exception("MailSink on_message callback failed")
        return "250 2.0.0 OK"


class _SinkHandler:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self._sink._receive(envelope.mail_from or "", tuple(envelope.rcpt_tos),
                                   envelope.original_content or b"")


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


class MailSinkProcess:
    """Counting SMTP receiver in a separate (spawned) process, for benchmarks.

    Only counts messages and stamps the first and last arrival (``time.time()``), so
    senders can compute throughput. A program that uses it must guard its entry point
    with ``if __name__ == "__main__":`` (spawn re-imports the main module).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._requested_port = port
        self._ctx = multiprocessing.get_context("spawn")
        self._count = self._ctx.RawValue("q", 0)
        self._first_at = self._ctx.RawValue("d", 0.0)
        self._last_at = self._ctx.RawValue("d", 0.0)
        self._proc: Any = None
        self._conn: Connection | None = None
        self._port = 0

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("MailSinkProcess is not started")
        return self._port

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
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(
            target=_serve_counting, name="mailsink",
            args=(child, self._host, self._requested_port,
                  self._count, self._first_at, self._last_at),
            daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(timeout):
            self.stop()
            raise TimeoutError(f"MailSinkProcess did not start listening within {timeout:g} s")
        try:
            status, value = parent.recv()
        except EOFError:
            status, value = "error", f"receiver process exited with {self._proc.exitcode}"
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


__all__ = ["MailSink", "MailSinkProcess", "ReceivedMail", "html_to_text", "parse_mail",
           "quiet_aiosmtpd", "start_controller"]
