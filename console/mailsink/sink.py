"""A real SMTP server on loopback that keeps what it receives.

Tests, the benchmarks and the desktop demo send real email through Apprise; this is
where it lands. ``MailSink`` runs in a thread of the calling process and keeps every
message. The benchmarks' ``MailSinkProcess`` (console.bench.mailsink) runs in its own
process and only counts, so that a benchmark's sender does not share a CPU (and the GIL)
with the receiver.

aiosmtpd's ``Controller(port=0)`` cannot be used: after binding it connects to
``self.port`` (0) to check that the server answers. So the listening socket is bound
here (port 0 allowed) and handed to the Controller, which leaves no window for another
process to take the port.
"""

from __future__ import annotations

import email
import email.policy
import html.parser
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from console.mailsink.listening import Listening

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


class MailSink(Listening):
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
