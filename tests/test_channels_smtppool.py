"""channels.smtppool: SMTP connection reuse inside Apprise's email plugin, against aiosmtpd.

The server counts TCP connections (one ``factory()`` call each) and records which
connection (client address) and which login carried every mail, so "reused", "not
shared" and "exactly once" are checked where they happen: on the server.
"""

from __future__ import annotations

import email
import email.policy
import errno
import logging
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from channels import Deliverer, DeliveryStatus, Outgoing, fill_address, notify_type_for, render, smtppool
from channels.baseline import send_raw_apprise
from console.mailsink import quiet_aiosmtpd
from tests.helpers import free_port
from tests.helpers.tls import self_signed_cert

FROM = "alerts@example.com"
LINK = "https://acks.example.com/a/_Tk9-x_QzW2vLmN8pRsT4u"


# --- a server that tells connections apart -------------------------------------------

@dataclass(frozen=True)
class Got:
    peer: tuple[str, int]
    login: tuple[str, str] | None
    rcpt_tos: tuple[str, ...]
    text: str
    tls: bool


class Recorder:
    """aiosmtpd handler: records mails per connection and misbehaves on request.

    Attributes set by a test (each applies once):
        trouble_at_mail: "421" or "hangup" for the next MAIL FROM on a connection that
            already carried a mail (what a server that dropped an idle session does).
        hangup_after_data: keep the next message, then hang up instead of answering.
        fail_data: answer the next DATA with 451.
    Recipients starting with ``tempfail`` get 451 at RCPT.
    """

    def __init__(self) -> None:
        self.connections = 0
        self.quits = 0
        self.mails: list[Got] = []
        self.logins: dict[tuple[str, int], tuple[str, str]] = {}
        self.trouble_at_mail: str | None = None
        self.hangup_after_data = False
        self.fail_data = False
        self._carried: set[tuple[str, int]] = set()
        self.cond = threading.Condition()

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins[session.peer] = (auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=True)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        if self.trouble_at_mail and session.peer in self._carried:
            trouble, self.trouble_at_mail = self.trouble_at_mail, None
            if trouble == "hangup":
                server.transport.abort()
                return "250 OK"  # never arrives
            return "421 4.4.2 sink.localhost idle too long, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("tempfail"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_data:
            self.fail_data = False
            return "451 4.3.0 queue full"
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        plain = msg.get_body(preferencelist=("plain",))
        tls = server.transport.get_extra_info("ssl_object") is not None
        got = Got(session.peer, self.logins.get(session.peer), tuple(envelope.rcpt_tos),
                  plain.get_content() if plain is not None else "", tls)
        with self.cond:
            self.mails.append(got)
            self._carried.add(session.peer)
            self.cond.notify_all()
        if self.hangup_after_data:
            self.hangup_after_data = False
            server.transport.abort()
        return "250 2.0.0 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"

    def wait_for(self, n: int, timeout: float = 10) -> list[Got]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.mails) >= n, timeout), \
                f"expected {n} mail(s), got {len(self.mails)}"
            return list(self.mails)

    def peers(self) -> set[tuple[str, int]]:
        return {m.peer for m in self.mails}


class CountingController(Controller):
    """One ``factory()`` call per accepted TCP connection: count them."""

    def factory(self) -> SMTP:
        self.handler.connections += 1
        return super().factory()


@dataclass
class Server:
    controller: CountingController
    recorder: Recorder

    @property
    def port(self) -> int:
        return int(self.controller.port)


def _start(**kwargs: Any) -> Server:
    quiet_aiosmtpd()
    recorder = Recorder()
    for _ in range(5):
        controller = CountingController(recorder, hostname="127.0.0.1", port=free_port(),
                                        server_hostname="sink.localhost", ready_timeout=10,
                                        authenticator=recorder.authenticate, auth_require_tls=False,
                                        **kwargs)
        try:
            controller.start()
        except OSError as exc:
            controller.stop(no_assert=True)
            controller.loop.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        recorder.connections = 0  # start() opened one to check the server answers
        return Server(controller, recorder)
    raise RuntimeError("no free port for the SMTP server")


@pytest.fixture
def server() -> Iterator[Server]:
    started = _start()
    try:
        yield started
    finally:
        started.controller.stop()


@pytest.fixture(scope="module")
def server_tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed_cert(tmp_path_factory.mktemp("tls")))
    return context


def mail_url(port: int, address: str, *, host: str = "127.0.0.1", login: str = "",
             extra: str = "mode=insecure") -> str:
    return fill_address(f"mailto://{login}{host}:{port}?from={FROM}&to={{address}}&{extra}", address)


def outgoing(url: str, body: str = "Leave the building by the stairs.") -> Outgoing:
    rendered = render("email", title="Fire in building B", body=body, severity="critical",
                      exercise=False, link=LINK, options=("I'm safe", "I need help"), org_name="ACME")
    return Outgoing(url=url, kind="email", rendered=rendered, notify_type=notify_type_for("critical"))


# --- reuse ------------------------------------------------------------------------------

def test_hundred_mails_from_one_deliverer_share_one_connection(server: Server) -> None:
    with Deliverer() as deliverer:
        results = [deliverer.send(outgoing(mail_url(server.port, f"user{i}@example.com"),
                                           body=f"Message number {i} for user {i}."))
                   for i in range(100)]

    assert [r.status for r in results] == [DeliveryStatus.OK] * 100, {r.error for r in results}
    mails = server.recorder.wait_for(100)
    assert server.recorder.connections == 1
    assert len(mails) == 100
    for i, mail in enumerate(mails):
        assert mail.rcpt_tos == (f"user{i}@example.com",)
        assert f"Message number {i} for user {i}." in mail.text
    assert server.recorder.quits == 1  # close() said goodbye


def test_two_deliverers_in_two_threads_use_separate_connections(server: Server) -> None:
    statuses: list[DeliveryStatus] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        with Deliverer() as deliverer:
            start.wait(10)
            for i in range(20):
                status = deliverer.send(outgoing(mail_url(server.port, f"{name}{i}@example.com"))).status
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert statuses == [DeliveryStatus.OK] * 40
    mails = server.recorder.wait_for(40)
    assert server.recorder.connections == 2
    peer_of = {name: {m.peer for m in mails if m.rcpt_tos[0].startswith(name)} for name in ("a", "b")}
    assert len(peer_of["a"]) == 1 and len(peer_of["b"]) == 1 and peer_of["a"] != peer_of["b"]


def test_different_credentials_or_hosts_never_share_a_connection(server: Server) -> None:
    logins = [("alice", "pw-one"), ("alice", "pw-two"), ("bob", "pw-one")]
    with Deliverer() as deliverer:
        for round_ in range(3):
            for n, (user, password) in enumerate(logins):
                url = mail_url(server.port, f"r{round_}-l{n}@example.com", login=f"{user}:{password}@")
                assert deliverer.send(outgoing(url)).ok
            assert deliverer.send(outgoing(mail_url(server.port, f"r{round_}-ip@example.com"))).ok
            assert deliverer.send(outgoing(mail_url(server.port, f"r{round_}-name@example.com",
                                                    host="localhost"))).ok

    mails = server.recorder.wait_for(15)
    assert server.recorder.connections == 5  # 3 logins + 2 host names, each reused 3 times
    for mail in mails:
        kind = mail.rcpt_tos[0].split("-")[1].split("@")[0]
        if kind.startswith("l"):
            assert mail.login == logins[int(kind[1:])]  # sent on a session with its own login
        else:
            assert mail.login is None
    by_kind: dict[str, set[tuple[str, int]]] = {}
    for mail in mails:
        by_kind.setdefault(mail.rcpt_tos[0].split("-")[1], set()).add(mail.peer)
    assert all(len(peers) == 1 for peers in by_kind.values())
    assert len(set().union(*by_kind.values())) == 5


def test_pool_key_and_pool_repr_hide_the_password() -> None:
    key = smtppool.ConnectionKey("smtp.example.com", 587, "starttls", "alice", "Pa55w0rd!", True)
    assert "Pa55w0rd" not in repr(key)
    assert key != smtppool.ConnectionKey("smtp.example.com", 587, "starttls", "alice", "other", True)
    assert "Pa55w0rd" not in repr(smtppool.SMTPPool())


def test_outside_the_opt_in_apprise_opens_one_connection_per_mail(server: Server) -> None:
    with Deliverer():
        import apprise.plugins.email.base as email_base

        assert smtppool.installed()
        assert email_base.AppriseSMTPController.__name__ == "PooledAppriseSMTPController"
    for i in range(3):
        assert send_raw_apprise(mail_url(server.port, f"raw{i}@example.com"), "t", "b")
    with Deliverer(reuse_connections=False) as unpooled:
        for i in range(3):
            assert unpooled.send(outgoing(mail_url(server.port, f"plain{i}@example.com"))).ok

    assert len(server.recorder.wait_for(6)) == 6
    assert server.recorder.connections == 6
    assert server.recorder.quits == 6


def test_starttls_session_is_reused_with_one_handshake(server_tls_context: ssl.SSLContext,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    contexts: list[int] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        contexts.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    tls = _start(tls_context=server_tls_context, require_starttls=True)
    try:
        with Deliverer() as deliverer:
            for i in range(10):
                url = mail_url(tls.port, f"tls{i}@example.com", extra="mode=starttls&verify=no")
                result = deliverer.send(outgoing(url))
                assert result.ok, result.error
        mails = tls.recorder.wait_for(10)
    finally:
        tls.controller.stop()

    assert all(m.tls for m in mails)
    assert tls.recorder.connections == 1
    assert len(contexts) == 1  # one lazily built context, for the one handshake


def test_starttls_that_fails_verification_is_never_pooled(server_tls_context: ssl.SSLContext) -> None:
    tls = _start(tls_context=server_tls_context, require_starttls=True)
    try:
        with Deliverer() as deliverer:
            url = mail_url(tls.port, "x@example.com", extra="mode=starttls")  # verify=yes
            assert [deliverer.send(outgoing(url)).status for _ in range(2)] == [DeliveryStatus.FAILED] * 2
    finally:
        tls.controller.stop()
    assert tls.recorder.mails == [] and tls.recorder.connections == 2


# --- health ------------------------------------------------------------------------------

def test_server_restart_between_sends_delivers_the_next_mail_once(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="channels.smtppool")
    first = _start()
    port = first.port
    with Deliverer() as deliverer:
        assert deliverer.send(outgoing(mail_url(port, "before@example.com"))).ok
        first.recorder.wait_for(1)
        first.controller.stop()  # drops the pooled connection, server side
        second = _start_on(port)
        try:
            result = deliverer.send(outgoing(mail_url(port, "after@example.com")))
            assert result.ok, result.error
            assert [m.rcpt_tos for m in second.recorder.wait_for(1)] == [("after@example.com",)]
            assert deliverer.send(outgoing(mail_url(port, "again@example.com"))).ok
            assert len(second.recorder.wait_for(2)) == 2
        finally:
            second.controller.stop()
    assert second.recorder.connections == 1
    # Seen before anything was sent (the socket read EOF), not by the MAIL FROM fallback.
    assert "closed by the server while idle" in caplog.text
    assert "gone at MAIL FROM" not in caplog.text


def _start_on(port: int) -> Server:
    recorder = Recorder()
    controller = CountingController(recorder, hostname="127.0.0.1", port=port,
                                    server_hostname="sink.localhost", ready_timeout=10)
    controller.start()
    recorder.connections = 0
    return Server(controller, recorder)


@pytest.mark.parametrize("trouble", ["421", "hangup"])
def test_connection_dead_at_mail_from_is_reconnected_once_and_sent_once(server: Server,
                                                                        trouble: str) -> None:
    """The server drops the session just as MAIL FROM arrives (the readable check missed it)."""
    with Deliverer() as deliverer:
        assert deliverer.send(outgoing(mail_url(server.port, "one@example.com"))).ok
        server.recorder.wait_for(1)
        server.recorder.trouble_at_mail = trouble
        result = deliverer.send(outgoing(mail_url(server.port, "two@example.com")))
        assert result.status is DeliveryStatus.OK, result.error
        assert result.attempts == 1
        assert deliverer.send(outgoing(mail_url(server.port, "three@example.com"))).ok

    mails = server.recorder.wait_for(3)
    assert [m.rcpt_tos for m in mails] == [("one@example.com",), ("two@example.com",),
                                            ("three@example.com",)]
    assert server.recorder.connections == 2
    assert mails[0].peer != mails[1].peer == mails[2].peer


def test_hangup_after_the_content_is_a_failure_and_never_resent(server: Server) -> None:
    """The server kept the message but the 250 never came: retrying could deliver it twice."""
    with Deliverer() as deliverer:
        assert deliverer.send(outgoing(mail_url(server.port, "one@example.com"))).ok
        server.recorder.wait_for(1)
        server.recorder.hangup_after_data = True
        result = deliverer.send(outgoing(mail_url(server.port, "two@example.com")))
        assert result.status is DeliveryStatus.FAILED
        assert deliverer.send(outgoing(mail_url(server.port, "three@example.com"))).ok

    mails = server.recorder.wait_for(3)
    assert [m.rcpt_tos[0] for m in mails] == ["one@example.com", "two@example.com", "three@example.com"]
    assert server.recorder.connections == 2
    assert mails[2].peer != mails[1].peer


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_temporary_failure_fails_that_mail_and_the_next_uses_a_fresh_connection(
        server: Server, stage: str) -> None:
    with Deliverer() as deliverer:
        assert deliverer.send(outgoing(mail_url(server.port, "one@example.com"))).ok
        address = "tempfail@example.com" if stage == "rcpt" else "two@example.com"
        server.recorder.fail_data = stage == "data"
        result = deliverer.send(outgoing(mail_url(server.port, address)))
        assert result.status is DeliveryStatus.FAILED
        assert result.attempts == 1
        assert deliverer.send(outgoing(mail_url(server.port, "three@example.com"))).ok

    mails = server.recorder.wait_for(2)
    assert [m.rcpt_tos[0] for m in mails] == ["one@example.com", "three@example.com"]
    assert server.recorder.connections == 2
    assert mails[0].peer != mails[1].peer


def test_idle_connection_is_replaced_after_the_idle_timeout(server: Server) -> None:
    now = [0.0]
    pool = smtppool.SMTPPool(idle_timeout=10, clock=lambda: now[0])
    try:
        with smtppool.reuse(pool):
            assert send_raw_apprise(mail_url(server.port, "one@example.com"), "t", "b")
            now[0] = 9.0
            assert send_raw_apprise(mail_url(server.port, "two@example.com"), "t", "b")
            now[0] = 19.5
            assert send_raw_apprise(mail_url(server.port, "three@example.com"), "t", "b")
        assert len(pool) == 1
    finally:
        pool.close()

    mails = server.recorder.wait_for(3)
    assert mails[0].peer == mails[1].peer != mails[2].peer
    assert server.recorder.connections == 2 and server.recorder.quits == 2


def test_connection_is_retired_after_max_messages(server: Server) -> None:
    pool = smtppool.SMTPPool(max_messages=3)
    with smtppool.reuse(pool):
        for i in range(7):
            assert send_raw_apprise(mail_url(server.port, f"m{i}@example.com"), "t", "b")
    pool.close()

    assert len(server.recorder.wait_for(7)) == 7
    assert server.recorder.connections == 3 and server.recorder.quits == 3


def test_dropped_deliverer_closes_its_sockets(server: Server) -> None:
    deliverer = Deliverer()
    assert deliverer.send(outgoing(mail_url(server.port, "one@example.com"))).ok
    del deliverer  # no close(): the finalizer closes the socket (no ResourceWarning)

    assert len(server.recorder.wait_for(1)) == 1
    assert server.recorder.quits == 0


def test_install_is_idempotent_and_refuses_a_foreign_controller(monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    import apprise.plugins.email.base as email_base

    assert smtppool.install() and smtppool.install()
    pooled = email_base.AppriseSMTPController
    assert smtppool.install() and email_base.AppriseSMTPController is pooled

    monkeypatch.setattr(smtppool, "_installed", None)
    monkeypatch.setattr(email_base, "AppriseSMTPController", object)
    assert not smtppool.install()
    assert vars(email_base)["AppriseSMTPController"] is object
    assert "not Apprise 2.2's SMTP controller" in caplog.text
