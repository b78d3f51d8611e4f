"""One notification to one target through Apprise, and a typed result for it.

The dispatcher hands a :class:`Deliverer` an :class:`Outgoing` (secret URL, rendered
text) and records the :class:`DeliveryResult`. A failed delivery is a result, never an
exception: the outbox needs a status and a reason it can store and show, and the reason
is Apprise's own per-target log text, scrubbed of anything its privacy form hides.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from dataclasses import dataclass
from enum import StrEnum

import apprise
from apprise import AppriseAsset, AppriseResultStatus, NotifyBase, OverflowMode
from apprise.plugins.email import NotifyEmail

from channels import fast, smtppool
from channels.errors import ChannelError
from channels.render import MARKDOWN, Rendered, as_html
from channels.secrecy import privacy_form
from channels.urls import KINDS, MASK, instantiate, one_line, redact, scheme_of, secret_parts, target_count
from channels.vocabulary import PERSONAL_KINDS

log = logging.getLogger("channels.deliver")

_EXPLICIT_TIMEOUTS = re.compile(r"[?&](cto|rto)=", re.IGNORECASE)
_ERROR_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL", "DEPRECATION WARNING"})
# Socket timeouts fire after at least their full duration; allow for clock granularity.
_TIMEOUT_SLACK = 0.98


@dataclass(frozen=True)
class Outgoing:
    """One message for one target.

    Attributes:
        url: the full Apprise URL, secrets included; never log or show it.
        kind: the channel kind (``email``, ``sms``, ``chat`` or ``group``).
        rendered: the text for this target's service.
        notify_type: an Apprise NotifyType value (see ``render.notify_type_for``).
        address: the recipient filled into a personal URL, if any; when given for an
            email channel, delivery is refused unless Apprise reads that exact address
            as the one recipient (Apprise 2.2 parses ``o'neil@example.com`` as
            ``neil@example.com``, which would hand a personal link to someone else).
    """

    url: str
    kind: str
    rendered: Rendered
    notify_type: str
    address: str | None = None

    def __repr__(self) -> str:  # the URL is secret: keep it out of tracebacks and logs
        return f"Outgoing(kind={self.kind!r}, notify_type={self.notify_type!r}, url=<secret>)"


class DeliveryStatus(StrEnum):
    """How one delivery ended."""

    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one :meth:`Deliverer.send`.

    Attributes:
        status: OK, FAILED or TIMED_OUT.
        error: one line from Apprise's result logs (or why nothing was sent), with
            every secret part of the URL replaced by ``****``; None when OK.
        target: the privacy form of the URL (``channels.secrecy.privacy_form``), the
            recipient left readable.
        duration: seconds spent in ``send``.
        attempts: Apprise attempts made (URL ``retry=`` adds some); 0 when refused
            before anything was sent.
    """

    status: DeliveryStatus
    error: str | None
    target: str
    duration: float
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status is DeliveryStatus.OK


class Deliverer:
    """Sends one :class:`Outgoing` at a time through Apprise; one per worker thread.

    Not thread-safe: it keeps one Apprise manager that holds the current plugin during
    a send. Give each worker thread its own (they are cheap); a Deliverer is bound to
    the first thread that calls :meth:`send` and refuses others.

    Each send instantiates a fresh plugin from the URL (``Apprise.instantiate``; URLs
    differ per recipient, so a plugin cache would not hit, and a fresh plugin never
    carries throttle or retry state from a previous person's message), runs Apprise
    in the calling thread (asset ``service_timeout=0``: no hop into Apprise's shared
    pool, so concurrency is the number of workers), and uses :mod:`channels.fast` so
    plain SMTP builds no TLS context.

    SMTP connections are reused across sends (:mod:`channels.smtppool`): one open
    connection per relay and account, kept by this Deliverer for its thread. Call
    :meth:`close` (or use it as a context manager) when the worker stops, to QUIT them;
    a Deliverer that is simply dropped closes its sockets without a QUIT.

    Timeouts: the plugin's ``socket_connect_timeout`` and ``socket_read_timeout`` are
    set to ``connect_timeout`` and ``read_timeout`` unless the URL sets ``cto=``/``rto=``
    itself. Apprise's SMTP code uses one smtplib timeout for the connection and every
    reply, so an email plugin gets ``max(connect, read)``: a relay that takes a while to
    accept DATA (content scanning) is not cut off and mailed again on retry.

    TIMED_OUT: Apprise 2.2 reports a socket timeout as an ordinary failure, with the
    same WARNING text as a refused connection (the detail is logged at DEBUG only, next
    to URLs and message bodies, so DEBUG is never captured). A failed attempt that
    lasted at least as long as the shortest socket timeout in force is therefore
    reported TIMED_OUT; refusals and HTTP errors return sooner. An Apprise TIMEOUT
    status (its own deadline, if a caller's asset sets one) maps to TIMED_OUT as well.
    """

    def __init__(self, connect_timeout: float = 5.0, read_timeout: float = 15.0, *,
                 reuse_connections: bool = True, idle_timeout: float = smtppool.IDLE_TIMEOUT) -> None:
        """A Deliverer with its own SMTP connections (none opened yet).

        Args:
            connect_timeout: seconds to wait for a connection.
            read_timeout: seconds to wait for an answer.
            reuse_connections: keep SMTP connections open between sends (False: one per mail).
            idle_timeout: seconds an unused SMTP connection stays open before it is replaced.
        """
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        fast.install()
        self._pool: smtppool.SMTPPool | None = None
        if reuse_connections and smtppool.install():
            self._pool = smtppool.SMTPPool(idle_timeout=idle_timeout)
            weakref.finalize(self, self._pool.discard)
        self._asset = AppriseAsset(async_mode=False, service_timeout=0)
        self._apprise = apprise.Apprise(asset=self._asset)
        self._owner: int | None = None

    def send(self, outgoing: Outgoing) -> DeliveryResult:
        """Deliver exactly one notification to exactly one target; never raises for a failure."""
        self._bind_thread()
        started = time.monotonic()
        target = _fallback_target(outgoing.url)
        try:
            try:
                plugin = instantiate(outgoing.url, asset=self._asset)
            except ChannelError as exc:
                return self._done(DeliveryStatus.FAILED, str(exc), target, started, attempts=0)
            target = privacy_form(plugin, outgoing.url, keep=(outgoing.address,) if outgoing.address else ())
            refusal = _refusal(plugin, outgoing)
            if refusal is not None:
                return self._done(DeliveryStatus.FAILED, refusal, target, started, attempts=0)
            threshold = self._configure(plugin, outgoing.url)
            return self._notify(plugin, outgoing, target, threshold, started)
        except Exception as exc:  # noqa: BLE001 - a delivery failure must become a result
            status = DeliveryStatus.TIMED_OUT if isinstance(exc, TimeoutError) else DeliveryStatus.FAILED
            text = redact(one_line(f"{type(exc).__name__}: {exc}"), secret_parts(outgoing.url, target))
            return self._done(status, text, target, started)

    def close(self) -> None:
        """QUIT the SMTP connections kept open for this worker; sending later opens new ones."""
        if self._pool is not None:
            self._pool.close()

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bind_thread(self) -> None:
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            raise RuntimeError("a Deliverer belongs to one worker thread; create one per thread")

    def _configure(self, plugin: NotifyBase, url: str) -> float:
        """Make ``plugin`` send once, promptly, within our timeouts; return the timeout in force."""
        plugin.request_rate_per_sec = 0.0  # no throttle sleep, even if a plugin were reused
        plugin.optional = False  # optional=yes would report a failed send as success
        if plugin.overflow_mode == OverflowMode.SPLIT:
            plugin.overflow_mode = OverflowMode.TRUNCATE  # one notification, not several
        is_email = isinstance(plugin, NotifyEmail)
        if not _EXPLICIT_TIMEOUTS.search(url):
            plugin.socket_connect_timeout = (
                max(self.connect_timeout, self.read_timeout) if is_email else self.connect_timeout)
            plugin.socket_read_timeout = self.read_timeout
        if is_email:
            return float(plugin.socket_connect_timeout)
        return float(min(plugin.socket_connect_timeout, plugin.socket_read_timeout))

    def _notify(self, plugin: NotifyBase, outgoing: Outgoing, target: str, threshold: float,
                started: float) -> DeliveryResult:
        rendered = outgoing.rendered
        if isinstance(plugin, NotifyEmail):
            _dress_email(plugin, rendered)
            if rendered.body_format == MARKDOWN:
                # Apprise's own Markdown converter passes raw HTML through and makes <img> of
                # images (remote ones are tracking pixels); ours escapes the one and drops the other.
                rendered = as_html(rendered)
        self._apprise.add(plugin)
        try:
            with fast.lazy_tls(), smtppool.reuse(self._pool):
                result = self._apprise.notify(
                    body=rendered.body, title=rendered.title, notify_type=outgoing.notify_type,
                    body_format=rendered.body_format)
        finally:
            self._apprise.clear()
        with result:
            services = list(result)
            error = _error_text(result)
            if not services:
                return self._done(DeliveryStatus.FAILED, error or f"Apprise sent nothing ({result.status.name})",
                                  target, started, attempts=0, url=outgoing.url)
            service = services[0]
            attempts = max(1, len(service))
            if result.status == AppriseResultStatus.SUCCESS and service.status == AppriseResultStatus.SUCCESS:
                return self._done(DeliveryStatus.OK, None, target, started, attempts)
            last = service.attempts[-1] if service.attempts else None
            timed_out = service.status == AppriseResultStatus.TIMEOUT or (
                last is not None and last.elapsed >= threshold * _TIMEOUT_SLACK)
            error = error or "Apprise reported a failure without a reason"
            if timed_out:
                error = f"no answer within {threshold:g} s: {error}"
                return self._done(DeliveryStatus.TIMED_OUT, error, target, started, attempts, outgoing.url)
            return self._done(DeliveryStatus.FAILED, error, target, started, attempts, outgoing.url)

    @staticmethod
    def _done(status: DeliveryStatus, error: str | None, target: str, started: float,
              attempts: int = 1, url: str | None = None) -> DeliveryResult:
        if error is not None and url is not None:
            error = redact(one_line(error), secret_parts(url, target))
        result = DeliveryResult(status, error, target, time.monotonic() - started, attempts)
        if status is DeliveryStatus.OK:
            log.debug("delivered to %s in %.3f s", target, result.duration)
        else:
            log.info("delivery to %s %s: %s", target, status.value, error)
        return result


def _fallback_target(url: str) -> str:
    try:
        return f"{scheme_of(url)}://{MASK}"
    except ChannelError:
        return MASK


def _dress_email(plugin: NotifyEmail, rendered: Rendered) -> None:
    """Give this mail the message's headers and sender name, through Apprise's own fields (what
    the URL's ``+Header=value`` and ``name=`` set). The channel URL wins where it sets either:
    a header of the same name, or a sender name other than Apprise's default. Done after the
    privacy form is taken: these values are not secrets and must not be masked in error texts."""
    present = {str(name).lower() for name in plugin.headers}
    for name, value in rendered.headers:
        if name.lower() not in present:
            plugin.headers[name] = value
    current = plugin.from_addr[0]
    if rendered.sender_name and (not current or current == plugin.app_id):
        plugin.from_addr = [rendered.sender_name, plugin.from_addr[1]]


def _refusal(plugin: NotifyBase, outgoing: Outgoing) -> str | None:
    """Why this plugin must not be used for this message, or None."""
    if outgoing.kind not in KINDS:
        return f"not sent: unknown channel kind {outgoing.kind!r}"
    if outgoing.kind not in PERSONAL_KINDS:
        return None
    reached = target_count(plugin)
    if reached != 1:
        return (f"not sent: this URL reaches {reached} recipients and a personal message "
                "(with its personal link) must reach exactly one")
    if outgoing.address and isinstance(plugin, NotifyEmail):
        wanted = outgoing.address.strip().lower()
        got = plugin.targets[0][1].lower() if plugin.targets else ""
        if got != wanted:
            return (f"not sent: Apprise reads the address {outgoing.address!r} as {got!r}; "
                    "the personal link would reach someone else")
    return None


def _error_text(result: apprise.AppriseResult) -> str:
    """Apprise's WARNING-and-above messages for this call, in order, without repeats."""
    seen: dict[str, None] = {}
    for entry in result.logs():
        if entry.level in _ERROR_LEVELS:
            seen.setdefault(entry.message.strip(), None)
    return one_line("; ".join(m for m in seen if m))
