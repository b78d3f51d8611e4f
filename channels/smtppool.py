"""SMTP connection reuse for Apprise's own email plugin, per worker.

Apprise 2.2 opens a connection per notification: ``NotifyEmail.send`` (in
``apprise/plugins/email/base.py``) runs ``with AppriseSMTPController(...) as smtp:
smtp.sendmail(...)``, and the controller connects, says EHLO (and STARTTLS, AUTH) on
entry and QUITs on exit. That is six round trips per mail where a reused connection
needs three (MAIL, RCPT, DATA), plus a TCP (and TLS) handshake; it is most of what is
left of a fan-out's time once :mod:`channels.fast` has removed the TLS context cost.

The fix keeps delivery inside Apprise's plugin: only the name ``AppriseSMTPController``
in the email base module is pointed at a subclass (:func:`install`, once, under a lock;
with a warning and no change if Apprise's shape differs). Message building, headers,
recipients, ``sendmail`` and its error reporting stay Apprise's. The subclass pools only
inside :func:`reuse` (a context variable set by :class:`channels.Deliverer` around its
Apprise call); everywhere else, e.g. :func:`channels.baseline.send_raw_apprise`, it is the
original controller, one connection per mail.

Safety argument:

- Per worker. A pool belongs to one Deliverer, which belongs to one thread, and is
  reachable only through that thread's context while it sends: two workers never see
  each other's connections, and a connection is never used by two sends at once (it is
  taken out of the pool while in use). Its lifetime is the Deliverer's: ``close()``
  QUITs, garbage collection closes the sockets, so nothing lingers in a long-lived
  thread once its Deliverer is gone (a plain ``threading.local`` would).
- Keyed by every connection parameter: host, port, security mode, certificate
  verification, user *and password*. A session authenticated as one account, or
  verified under one policy, is only reused for a URL that would have opened the same
  session; two channels on the same relay with different credentials never share one.
  The key keeps the password out of its repr, and this module logs only host and port.
- Clean state. Only a connection whose every ``sendmail`` succeeded goes back to the
  pool; a refused sender or recipient, a 4xx/5xx on DATA, a partial refusal, a
  disconnect or any exception in the ``with`` block closes it. A successful ``sendmail``
  ends with the server's 250 to the end of DATA, after which the server has already
  cleared its transaction state (RFC 5321 section 4.1.1.4). An ``RSET`` on return
  would therefore only add a round trip (one in four) and is left out; the
  ``reset_on_return`` option sends one for relays that misbehave.
- Server-side idle timeouts and limits. An idle connection older than ``idle_timeout``
  (10 s; RFC 5321 asks servers to wait at least 5 minutes) is QUIT and replaced, one
  the server has closed or spoken on (readable socket) is dropped, and one that has
  carried ``max_messages`` mails is QUIT (relays often cap messages per connection).
  If a reused connection still turns out dead on its first command -- MAIL FROM answered
  421, or the server disconnected before answering it (reset, broken pipe, EOF, not a
  timeout) -- nothing of the message has reached the server, so the controller
  reconnects once and sends. A failure at any later point (RCPT, DATA, or the answer
  to the content) is reported as a failed delivery, never retried here: the message may
  have been accepted, and the outbox decides about retries. No mail is sent twice.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import smtplib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from channels.smtpconn import MailProbe, close_quietly, quit_politely, spoke_or_closed

log = logging.getLogger("channels.smtppool")

EMAIL_BASE_MODULE = "apprise.plugins.email.base"
SMTP_MODULE = "apprise.plugins.email.smtp"
CONTROLLER_NAME = "AppriseSMTPController"

IDLE_TIMEOUT = 10.0
MAX_MESSAGES = 100
MAX_IDLE = 8
_CONTROLLER_ARGS = ("host", "port", "secure_mode", "user", "password", "verify_certificate",
                    "socket_connect_timeout")

_active: ContextVar[SMTPPool | None] = ContextVar("channels_smtp_pool", default=None)
_install_lock = threading.Lock()
_installed: type | None = None


@dataclass(frozen=True)
class ConnectionKey:
    """Everything that makes one SMTP session different from another."""

    host: str
    port: int
    secure_mode: str
    user: str | None
    password: str | None = field(repr=False)
    verify_certificate: bool

    def where(self) -> str:
        """Host and port, for logs."""
        return f"{self.host}:{self.port}"


@dataclass
class _Idle:
    smtp: smtplib.SMTP
    since: float
    messages: int


class SMTPPool:
    """Open SMTP connections of one worker, at most one idle per :class:`ConnectionKey`.

    Args:
        idle_timeout: seconds an idle connection may wait before it is QUIT and replaced.
        max_messages: mails after which a connection is QUIT rather than reused.
        max_idle: idle connections kept (different relays or accounts); the oldest goes.
        reset_on_return: send RSET before pooling a connection (one more round trip).
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(self, idle_timeout: float = IDLE_TIMEOUT, max_messages: int = MAX_MESSAGES,
                 max_idle: int = MAX_IDLE, reset_on_return: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if idle_timeout <= 0 or max_messages < 1 or max_idle < 1:
            raise ValueError("idle_timeout, max_messages and max_idle must be positive")
        self.idle_timeout = float(idle_timeout)
        self.max_messages = max_messages
        self.max_idle = max_idle
        self.reset_on_return = reset_on_return
        self._clock = clock
        self._idle: dict[ConnectionKey, _Idle] = {}
        self._lock = threading.Lock()  # uncontended in a worker; makes close() safe anywhere

    def __len__(self) -> int:
        with self._lock:
            return len(self._idle)

    def __repr__(self) -> str:
        return f"<SMTPPool idle={len(self)} idle_timeout={self.idle_timeout:g}>"

    def take(self, key: ConnectionKey) -> tuple[smtplib.SMTP, int] | None:
        """A healthy idle connection for ``key`` (removed from the pool), or None."""
        now = self._clock()
        with self._lock:
            entry = self._idle.pop(key, None)
            expired = [k for k, e in self._idle.items() if now - e.since > self.idle_timeout]
            stale = [self._idle.pop(k) for k in expired]
        for old in stale:
            quit_politely(old.smtp)
        if entry is None:
            return None
        if now - entry.since > self.idle_timeout:
            log.debug("SMTP connection to %s idle for %.1f s: replaced", key.where(), now - entry.since)
            quit_politely(entry.smtp)
            return None
        if spoke_or_closed(entry.smtp):
            log.debug("SMTP connection to %s was closed by the server while idle", key.where())
            close_quietly(entry.smtp)
            return None
        return entry.smtp, entry.messages

    def give_back(self, key: ConnectionKey, smtp: smtplib.SMTP, messages: int) -> None:
        """Keep ``smtp`` for the next send with ``key``, or QUIT it when it has done enough."""
        if smtp.sock is None:
            return
        if messages >= self.max_messages:
            quit_politely(smtp)
            return
        if self.reset_on_return:
            try:
                code, _ = smtp.rset()
            except (OSError, smtplib.SMTPException):
                code = 0
            if code != 250:
                close_quietly(smtp)
                return
        with self._lock:
            displaced = self._idle.pop(key, None)
            if displaced is None and len(self._idle) >= self.max_idle:
                displaced = self._idle.pop(min(self._idle, key=lambda k: self._idle[k].since))
            self._idle[key] = _Idle(smtp, self._clock(), messages)
        if displaced is not None:
            quit_politely(displaced.smtp)

    def close(self) -> None:
        """QUIT and close every idle connection; the pool stays usable."""
        for entry in self._drain():
            quit_politely(entry.smtp)

    def discard(self) -> None:
        """Close every idle connection without a word to the server (no I/O; for finalizers)."""
        for entry in self._drain():
            close_quietly(entry.smtp)

    def _drain(self) -> list[_Idle]:
        with self._lock:
            entries = list(self._idle.values())
            self._idle.clear()
        return entries


@contextlib.contextmanager
def reuse(pool: SMTPPool | None) -> Iterator[None]:
    """Let Apprise email sends made inside this block (this thread) use ``pool``; None: stock."""
    token = _active.set(pool)
    try:
        yield
    finally:
        _active.reset(token)


def _pooled_controller(base: Any) -> type:
    """A subclass of Apprise's controller that pools inside :func:`reuse`, stock outside."""

    class PooledSMTPController(base):
        """Apprise's SMTP controller; takes and returns connections when a pool is active."""

        _pool: SMTPPool | None = None
        _socket: smtplib.SMTP | None

        def __enter__(self) -> Any:
            pool = _active.get()
            self._pool = pool
            if pool is None:
                return super().__enter__()
            self._pool_key = ConnectionKey(self.host, self.port, self.secure_mode, self.user,
                                           self.password, bool(self.verify_certificate))
            self._pool_failed = False
            self._pool_sent = 0
            taken = pool.take(self._pool_key)
            if taken is None:
                self._pool_reused, self._pool_messages = False, 0
                return super().__enter__()
            smtp, self._pool_messages = taken
            smtp.timeout = self.socket_connect_timeout
            if smtp.sock is not None:
                smtp.sock.settimeout(self.socket_connect_timeout)
            self._socket = smtp
            self._pool_reused = True
            return self

        def sendmail(self, from_addr: str, to_addrs: list[str], message: str) -> bool:
            if self._pool is None:
                return bool(super().sendmail(from_addr, to_addrs, message))
            if self._pool_reused and self._pool_sent == 0 and self._socket is not None:
                with MailProbe(self._socket) as probe:
                    ok = bool(super().sendmail(from_addr, to_addrs, message))
                if not ok and probe.dead_before_mail_answered:
                    log.debug("pooled SMTP connection to %s was gone at MAIL FROM: reconnecting "
                              "once (nothing was sent)", self._pool_key.where())
                    close_quietly(self._socket)
                    self._socket = None
                    self._pool_reused, self._pool_messages = False, 0
                    base.__enter__(self)  # Apprise's own connect; a failure is a connection error
                    ok = bool(super().sendmail(from_addr, to_addrs, message))
            else:
                ok = bool(super().sendmail(from_addr, to_addrs, message))
            if ok:
                self._pool_sent += 1
            else:
                self._pool_failed = True
            return ok

        def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
            pool = self._pool
            if pool is None:
                return super().__exit__(exc_type, exc_val, exc_tb)
            smtp, self._socket = self._socket, None
            if smtp is None:
                return None
            if exc_type is None and not self._pool_failed:
                pool.give_back(self._pool_key, smtp, self._pool_messages + self._pool_sent)
            else:
                quit_politely(smtp)
            return None

    PooledSMTPController.__qualname__ = PooledSMTPController.__name__ = f"Pooled{base.__name__}"
    return PooledSMTPController


def _fits(base: Any) -> bool:
    """Whether ``base`` looks like Apprise 2.2's controller (what the subclass relies on)."""
    try:
        params = inspect.signature(base).parameters
        probe = base(host="localhost", port=25, secure_mode="insecure")  # no I/O before __enter__
    except (TypeError, ValueError):
        return False
    return (isinstance(base, type) and all(name in params for name in _CONTROLLER_ARGS)
            and all(callable(getattr(base, name, None)) for name in ("__enter__", "__exit__", "sendmail"))
            and getattr(probe, "_socket", 0) is None)


def install() -> bool:
    """Point the email plugin's ``AppriseSMTPController`` at the pooling subclass; idempotent.

    Returns:
        True when pooling is in place, False when this Apprise does not look like 2.2
        (then nothing was changed and every email opens its own connection).
    """
    global _installed
    if _installed is not None:
        return True
    with _install_lock:
        if _installed is not None:
            return True
        try:
            base_module = importlib.import_module(EMAIL_BASE_MODULE)
            smtp_module = importlib.import_module(SMTP_MODULE)
        except ImportError:
            log.warning("%s not found: SMTP connections are not reused", EMAIL_BASE_MODULE)
            return False
        original = getattr(smtp_module, CONTROLLER_NAME, None)
        if getattr(base_module, CONTROLLER_NAME, None) is not original or not _fits(original):
            log.warning("%s.%s is not Apprise 2.2's SMTP controller: SMTP connections are not "
                        "reused (delivery stays correct)", EMAIL_BASE_MODULE, CONTROLLER_NAME)
            return False
        pooled = _pooled_controller(original)
        setattr(base_module, CONTROLLER_NAME, pooled)
        _installed = pooled
        log.debug("SMTP connection reuse installed in %s", EMAIL_BASE_MODULE)
        return True


def installed() -> bool:
    """Whether :func:`install` has put the pooling controller in place."""
    return _installed is not None
