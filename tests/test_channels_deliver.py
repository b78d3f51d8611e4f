"""channels.deliver and channels.fast against real servers on loopback (no Apprise mocks).

SMTP: aiosmtpd (plain, STARTTLS and implicit TLS with a self-signed certificate made
here). HTTP: http.server answering 500. Timeouts: a listening socket that never
accepts, so the client's connection completes and then waits for an answer that never
comes.
"""

from __future__ import annotations

import email
import email.policy
import errno
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from channels import (
    ChannelAddressError,
    Deliverer,
    DeliveryStatus,
    Outgoing,
    fast,
    fill_address,
    notify_type_for,
    render,
)
from channels.baseline import send_raw_apprise
from tests.helpers import free_port
from tests.helpers.tls import self_signed_cert
from tests.helpers.webhook import running

LINK = "https://acks.example.com/a/_Tk9-x_QzW2vLmN8pRsT4u"
FROM = "alerts@example.com"


# --- helpers -----------------------------------------------------------------------

@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    text: str
    html: str | None
    tls: bool


class _Collector:
    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        tls = session.ssl is not None or (
            server.transport is not None and server.transport.get_extra_info("ssl_object") is not None)
        mail = Mail(envelope.mail_from, tuple(envelope.rcpt_tos), str(msg["subject"]),
                    plain.get_content() if plain is not None else "",
                    html.get_content() if html is not None else None, tls)
        with self.cond:
            self.mails.append(mail)
            self.cond.notify_all()
        return "250 2.0.0 OK"

    def wait_for(self, n: int, timeout: float = 10) -> list[Mail]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.mails) >= n, timeout), \
                f"expected {n} mail(s), got {len(self.mails)}"
            return list(self.mails)


@dataclass
class SmtpServer:
    port: int
    collector: _Collector


def _start_smtp(collector: _Collector | None = None, **kwargs: Any) -> tuple[Controller, _Collector]:
    collector = collector or _Collector()
    for _ in range(5):
        controller = Controller(collector, hostname="127.0.0.1", port=free_port(),
                                server_hostname="sink.localhost", ready_timeout=10, **kwargs)
        try:
            controller.start()
        except OSError as exc:
            controller.stop(no_assert=True)
            controller.loop.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        return controller, collector
    raise RuntimeError("no free port for the SMTP server")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    controller, collector = _start_smtp()
    try:
        yield SmtpServer(controller.port, collector)
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as PEM files."""
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


def _server_context(cert_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert_files)
    return context


@pytest.fixture
def smtp_starttls(cert_files: tuple[Path, Path]) -> Iterator[SmtpServer]:
    controller, collector = _start_smtp(tls_context=_server_context(cert_files), require_starttls=True)
    try:
        yield SmtpServer(controller.port, collector)
    finally:
        controller.stop()


@pytest.fixture
def smtps(cert_files: tuple[Path, Path]) -> Iterator[SmtpServer]:
    controller, collector = _start_smtp(ssl_context=_server_context(cert_files))
    try:
        yield SmtpServer(controller.port, collector)
    finally:
        controller.stop()


@pytest.fixture
def http_500() -> Iterator[int]:
    """The port of an endpoint that answers 500 to paths under /fail."""
    with running() as server:
        yield server.port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose connections complete (kernel backlog) but never get an answer."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


@pytest.fixture
def count_contexts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts real ``ssl.create_default_context`` calls made while the test runs."""
    calls: list[int] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    return calls


def mail_url(port: int, address: str = "bob@example.com", extra: str = "mode=insecure") -> str:
    template = f"mailto://127.0.0.1:{port}?from={FROM}&to={{address}}&{extra}"
    return fill_address(template, address)


def outgoing(url: str, *, kind: str = "email", severity: str = "critical", exercise: bool = False,
             address: str | None = None, body: str = "Leave the building by the stairs.") -> Outgoing:
    rendered = render(kind, title="Fire in building B", body=body,
                      severity=severity, exercise=exercise, link=LINK,
                      options=("I'm safe", "I need help"), org_name="ACME")
    return Outgoing(url=url, kind=kind, rendered=rendered, notify_type=notify_type_for(severity),
                    address=address)


# --- email -------------------------------------------------------------------------

def test_email_arrives_once_with_personal_link_in_plain_body(smtp: SmtpServer) -> None:
    result = Deliverer().send(outgoing(mail_url(smtp.port), exercise=True, address="bob@example.com"))

    assert result.status is DeliveryStatus.OK, result.error
    assert result.error is None and result.attempts == 1 and result.duration > 0
    [mail] = smtp.collector.wait_for(1)
    assert mail.rcpt_tos == ("bob@example.com",)
    assert mail.mail_from == FROM
    assert mail.subject == "[EXERCISE] [CRITICAL] Fire in building B"
    assert mail.text.splitlines()[0].startswith("[EXERCISE]")
    assert LINK in mail.text.split()  # the raw URL, whole, as its own word
    assert "Answer (I'm safe / I need help):" in mail.text
    assert mail.html is not None and f'href="{LINK}"' in mail.html
    assert not mail.tls


def test_address_with_plus_and_ampersand_survives_the_query(smtp: SmtpServer) -> None:
    address = "bob+alerts&x=1@example.com"
    result = Deliverer().send(outgoing(mail_url(smtp.port, address), address=address))

    assert result.status is DeliveryStatus.OK, result.error
    assert smtp.collector.wait_for(1)[0].rcpt_tos == (address,)


@pytest.mark.parametrize(("severity", "expected"),
                         [("info", "info"), ("warning", "warning"), ("critical", "failure")])
def test_severity_maps_to_apprise_notify_type(smtp: SmtpServer, severity: str, expected: str) -> None:
    assert notify_type_for(severity) == expected
    result = Deliverer().send(outgoing(mail_url(smtp.port), severity=severity))
    assert result.status is DeliveryStatus.OK, result.error


def test_two_hundred_plain_smtp_sends_build_no_tls_context(smtp: SmtpServer,
                                                           count_contexts: list[int]) -> None:
    deliverer = Deliverer()
    results = [deliverer.send(outgoing(mail_url(smtp.port, f"user{i}@example.com"))) for i in range(200)]

    assert all(r.status is DeliveryStatus.OK for r in results), {r.error for r in results}
    mails = smtp.collector.wait_for(200)
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted(f"user{i}@example.com" for i in range(200))
    assert count_contexts == []


def test_stock_apprise_builds_a_context_per_message(smtp: SmtpServer, count_contexts: list[int]) -> None:
    """The counter sees what the fast path avoids: the naive path pays every time."""
    fast.install()
    assert send_raw_apprise(mail_url(smtp.port), "t", "b")
    assert send_raw_apprise(mail_url(smtp.port), "t", "b")
    assert len(count_contexts) == 2


def test_starttls_with_self_signed_certificate_still_handshakes(smtp_starttls: SmtpServer,
                                                                count_contexts: list[int]) -> None:
    url = mail_url(smtp_starttls.port, extra="mode=starttls&verify=no")
    result = Deliverer().send(outgoing(url))

    assert result.status is DeliveryStatus.OK, result.error
    [mail] = smtp_starttls.collector.wait_for(1)
    assert mail.tls
    assert len(count_contexts) == 1  # built lazily, for the handshake that needed it


def test_starttls_still_verifies_the_certificate_when_asked(smtp_starttls: SmtpServer) -> None:
    url = mail_url(smtp_starttls.port, extra="mode=starttls")  # verify defaults to yes
    result = Deliverer().send(outgoing(url))

    assert result.status is DeliveryStatus.FAILED
    assert result.error is not None and "127.0.0.1" in result.error
    assert smtp_starttls.collector.mails == []


def test_implicit_tls_with_self_signed_certificate(smtps: SmtpServer, count_contexts: list[int]) -> None:
    url = mail_url(smtps.port, extra="mode=ssl&verify=no")
    result = Deliverer().send(outgoing(url))

    assert result.status is DeliveryStatus.OK, result.error
    assert smtps.collector.wait_for(1)[0].tls
    assert len(count_contexts) == 1


def test_lazy_context_replays_settings_in_order() -> None:
    context = fast.LazySSLContext()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("ECDHE+AESGCM")
    assert not context.materialized
    assert context.check_hostname is False
    real = context.real()
    assert context.materialized
    assert real.check_hostname is False and real.verify_mode == ssl.CERT_NONE
    with pytest.raises(ValueError):
        fast.LazySSLContext().verify_mode = ssl.CERT_NONE  # as a real default context refuses
    with pytest.raises(AttributeError):
        fast.LazySSLContext().no_such_setting = 1


def test_install_is_idempotent_and_scoped_to_apprise_smtp() -> None:
    import apprise.plugins.email.smtp as smtp_module

    assert fast.install() and fast.install()
    shim = smtp_module.ssl
    assert fast.install() and smtp_module.ssl is shim
    assert shim.CERT_NONE is ssl.CERT_NONE
    assert ssl.create_default_context is not shim.create_default_context
    assert isinstance(shim.create_default_context(), ssl.SSLContext)  # stock outside lazy_tls()
    with fast.lazy_tls():
        first, second = shim.create_default_context(), shim.create_default_context()
    assert isinstance(first, fast.LazySSLContext) and first is not second  # one per session


class _RefuseRecipients(_Collector):
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        return f"550 5.1.1 <{address}>: mailbox unavailable"


def test_refused_recipient_is_failed_with_apprise_reason() -> None:
    controller, collector = _start_smtp(_RefuseRecipients())
    try:
        result = Deliverer().send(outgoing(mail_url(controller.port, "gone@example.com")))
    finally:
        controller.stop()

    assert result.status is DeliveryStatus.FAILED
    # Apprise 2.2 logs the 550 itself at DEBUG only; its WARNING names the recipient.
    assert result.error == 'Sending email to "gone@example.com" failed.'
    assert collector.mails == []


# --- refusals: exactly one target ----------------------------------------------------

def test_personal_url_reaching_two_people_is_refused(smtp: SmtpServer) -> None:
    url = f"mailto://127.0.0.1:{smtp.port}?from={FROM}&to=bob@example.com&cc=boss@example.com&mode=insecure"
    result = Deliverer().send(outgoing(url))

    assert result.status is DeliveryStatus.FAILED and result.attempts == 0
    assert "exactly one" in (result.error or "")
    assert smtp.collector.mails == []


def test_address_apprise_would_misread_is_refused(smtp: SmtpServer) -> None:
    address = "o'neil@example.com"  # Apprise 2.2 reads this as neil@example.com
    result = Deliverer().send(outgoing(mail_url(smtp.port, address), address=address))

    assert result.status is DeliveryStatus.FAILED and result.attempts == 0
    assert smtp.collector.mails == []


def test_overflow_split_still_sends_one_message(smtp: SmtpServer) -> None:
    url = mail_url(smtp.port, extra="mode=insecure&overflow=split")
    result = Deliverer().send(outgoing(url, body="Leave now. " * 4000))  # > 32768, email's limit

    assert result.status is DeliveryStatus.OK, result.error
    smtp.collector.wait_for(1)
    assert len(smtp.collector.wait_for(1, timeout=1)) == 1


def test_optional_url_cannot_hide_a_failure() -> None:
    url = f"json://127.0.0.1:{free_port()}/hook?optional=yes"
    assert Deliverer().send(outgoing(url, kind="group")).status is DeliveryStatus.FAILED


def test_unknown_kind_is_refused() -> None:
    rendered = render("chat", title="t", body="b", severity="info", exercise=False, link=None)
    result = Deliverer().send(Outgoing(url="json://127.0.0.1/x", kind="pager", rendered=rendered,
                                       notify_type="info"))
    assert result.status is DeliveryStatus.FAILED and "pager" in (result.error or "")


def test_address_with_a_list_separator_cannot_be_filled_in() -> None:
    with pytest.raises(ChannelAddressError):
        fill_address("mailto://h?to={address}", "bob@example.com,eve@example.com")


# --- failures, timeouts, secrets -------------------------------------------------------

def test_http_500_is_failed_with_apprise_error_text(http_500: int) -> None:
    url = f"json://user:s3cr3tpw@127.0.0.1:{http_500}/fail/hook"
    result = Deliverer().send(outgoing(url, kind="group"))

    assert result.status is DeliveryStatus.FAILED
    assert result.error is not None and "error=500" in result.error
    assert "s3cr3tpw" not in result.error and "s3cr3tpw" not in result.target
    assert result.attempts == 1


def test_http_server_that_never_answers_is_timed_out(silent_port: int) -> None:
    url = f"json://127.0.0.1:{silent_port}/hook"
    result = Deliverer(connect_timeout=2.0, read_timeout=0.5).send(outgoing(url, kind="group"))

    assert result.status is DeliveryStatus.TIMED_OUT, result
    assert result.error is not None and result.error.startswith("no answer within 0.5 s")
    assert "Connection error" in result.error  # Apprise's own words follow
    assert 0.5 <= result.duration < 2.0


def test_smtp_server_that_never_greets_is_timed_out(silent_port: int) -> None:
    result = Deliverer(connect_timeout=0.3, read_timeout=0.5).send(outgoing(mail_url(silent_port)))

    assert result.status is DeliveryStatus.TIMED_OUT, result
    assert result.error is not None and "0.5 s" in result.error  # SMTP waits max(connect, read)


def test_refused_connection_is_failed_not_timed_out() -> None:
    result = Deliverer().send(outgoing(f"json://127.0.0.1:{free_port()}/hook", kind="group"))

    assert result.status is DeliveryStatus.FAILED
    assert result.duration < 2.0


def test_unknown_scheme_is_failed_without_raising() -> None:
    result = Deliverer().send(outgoing("nosuch://user:pw@host/x", kind="group"))

    assert result.status is DeliveryStatus.FAILED and result.attempts == 0
    assert result.error is not None and "nosuch://" in result.error
    assert "pw@" not in result.target


def test_masked_target_never_contains_the_password(smtp: SmtpServer) -> None:
    url = fill_address(f"mailto://alerts:Pa55w0rd%21@127.0.0.1:{smtp.port}?from={FROM}&to={{address}}"
                       "&mode=insecure", "bob@example.com")
    result = Deliverer().send(outgoing(url))

    assert "Pa55w0rd" not in result.target
    assert "Pa55w0rd" not in (result.error or "")
    assert "Pa55w0rd" not in repr(outgoing(url))


def test_deliverer_belongs_to_one_thread(smtp: SmtpServer) -> None:
    deliverer = Deliverer()
    deliverer.send(outgoing(mail_url(smtp.port)))
    errors: list[BaseException] = []

    def other() -> None:
        try:
            deliverer.send(outgoing(mail_url(smtp.port)))
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(10)
    assert len(errors) == 1


def test_worker_threads_each_with_a_deliverer(smtp: SmtpServer) -> None:
    results: list[DeliveryStatus] = []
    lock = threading.Lock()

    def worker(start: int) -> None:
        deliverer = Deliverer()
        for i in range(start, start + 25):
            status = deliverer.send(outgoing(mail_url(smtp.port, f"w{i}@example.com"))).status
            with lock:
                results.append(status)

    threads = [threading.Thread(target=worker, args=(n * 25,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results.count(DeliveryStatus.OK) == 100
    assert len({m.rcpt_tos for m in smtp.collector.wait_for(100)}) == 100


# --- Matrix (a real Synapse) ------------------------------------------------------------

@pytest.mark.slow
def test_group_post_to_a_matrix_room_through_synapse(synapse: Any) -> None:
    import uuid

    suffix = uuid.uuid4().hex[:8]
    bot, reader, room = f"bot{suffix}", f"reader{suffix}", f"ops{suffix}"
    synapse.register_user(bot, "Bot-Pa55")
    synapse.register_user(reader, "reader-pass")
    client = synapse.client()
    token = client.login(reader, "reader-pass")
    client.create_room(token, room)  # Apprise would create a missing room as private
    url = f"matrix://{bot}:Bot-Pa55@{synapse.host}:{synapse.port}/#{room}"

    result = Deliverer().send(outgoing(url, kind="group", exercise=True))

    assert result.status is DeliveryStatus.OK, result.error
    assert "Bot-Pa55" not in result.target
    [body] = client.room_messages(token, f"#{room}:localhost")
    assert "[EXERCISE]" in body and LINK in body
