"""One SMTP connection's state, for the pool in channels.smtppool: is an idle one still good,
closing it politely, and whether it died before answering MAIL FROM (then nothing was sent).
"""

from __future__ import annotations

import contextlib
import select
import smtplib
from collections.abc import Callable
from typing import Any

_QUIT_TIMEOUT = 2.0  # a polite QUIT must not hold a worker for a full read timeout


def spoke_or_closed(smtp: smtplib.SMTP) -> bool:
    """True when an idle connection has something to read: EOF, a 421, or TLS leftovers."""
    sock = smtp.sock
    if sock is None or sock.fileno() < 0:
        return True
    pending = getattr(sock, "pending", None)
    if pending is not None and pending():
        return True
    try:
        poller = select.poll()
    except AttributeError:  # no poll() on this platform
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    poller.register(sock, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def close_quietly(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()


def quit_politely(smtp: smtplib.SMTP) -> None:
    """QUIT (briefly, errors ignored) and always close the socket."""
    timeout = smtp.timeout if isinstance(smtp.timeout, (int, float)) else _QUIT_TIMEOUT
    try:
        if smtp.sock is not None:
            smtp.sock.settimeout(min(_QUIT_TIMEOUT, timeout))
            smtp.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        close_quietly(smtp)


class MailProbe:
    """Watches the MAIL FROM of one ``sendmail``: did the connection die before it was answered?

    Shadows ``mail`` on the one smtplib instance for the duration of the call (smtplib's
    ``sendmail`` calls ``self.mail`` first, before RCPT and DATA).
    """

    def __init__(self, smtp: smtplib.SMTP) -> None:
        self._smtp = smtp
        self.called = False
        self.code: int | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> MailProbe:
        real: Callable[..., tuple[int, bytes]] = self._smtp.mail

        def mail(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
            self.called = True
            try:
                reply = real(*args, **kwargs)
            except BaseException as exc:
                self.error = exc
                raise
            self.code = reply[0]
            return reply

        self._smtp.mail = mail  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        vars(self._smtp).pop("mail", None)

    @property
    def dead_before_mail_answered(self) -> bool:
        """The server hung up (or said 421) instead of answering MAIL FROM; not a timeout."""
        if not self.called or self._smtp.sock is not None:
            return False
        if self.code == 421:
            return True
        error = self.error
        return isinstance(error, smtplib.SMTPServerDisconnected) and not isinstance(
            error.__context__, TimeoutError)
