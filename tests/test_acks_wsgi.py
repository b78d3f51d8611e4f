"""Every route and every error of the acknowledgement WSGI app, called directly (PEP 3333, checked by wsgiref).

Runs on SQLite and PostgreSQL: the read path and the writer use raw DBAPI
connections whose SQL is dialect-specific.
"""

from __future__ import annotations

import io
import json
import logging
import re
import wsgiref.util
import wsgiref.validate
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, text

from console import audit, settings
from console.acks.answers import SELF_REPORT_ACTION
from console.acks.http import CSP
from console.acks.limits import FailureLimiter
from console.acks.lookup import Lookup
from console.acks.rawdb import RawDialect, ReadPool
from console.acks.recorder import AUDIT_ACTION
from console.acks.wsgi import AckApp, Limits, make_app
from console.bench.acks import Seeded, seed_broadcast
from console.broadcast.outbox import cancel
from console.broadcast.send import BroadcastRequest, create_broadcast
from console.broadcast.status import broadcast_status
from console.directory.service import save_contact
from console.models import AuditEntry, Recipient
from console.storage import Database, open_database

FORM = "application/x-www-form-urlencoded"
CLIENT = "192.0.2.10"
BODY = "Leave by the **nearest** exit. <script>alert('x')</script> [status](https://status.example.org)"
SECURITY = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def check(self) -> str:
        found = re.search(r'name="check" value="([^"]*)"', self.body)
        assert found, "no check field on the page"
        return found.group(1)


@dataclass
class Service:
    db: Database
    app: AckApp
    seeded: Seeded

    def call(self, method: str, path: str, *, form: dict[str, str] | None = None, body: bytes | None = None,
             client: str = CLIENT, content_type: str = FORM, length: str | None = None) -> Reply:
        environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "REMOTE_ADDR": client,
                                   "SCRIPT_NAME": "", "QUERY_STRING": ""}
        wsgiref.util.setup_testing_defaults(environ)
        data = urlencode(form).encode() if form is not None else (body or b"")
        environ["wsgi.input"] = io.BytesIO(data)
        if method == "POST":
            environ["CONTENT_TYPE"] = content_type
            environ["CONTENT_LENGTH"] = str(len(data)) if length is None else length
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        result = wsgiref.validate.validator(self.app)(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            result.close()  # type: ignore[attr-defined]
        return Reply(int(captured["status"][:3]), dict(captured["headers"]), payload.decode())

    @property
    def tokens(self) -> list[str]:
        return list(self.seeded.tokens.values())

    def answers(self) -> dict[str, str | None]:
        with self.db.read() as session:
            return dict(session.execute(select(Recipient.email, Recipient.answer)
                                        .where(Recipient.broadcast_id == self.seeded.broadcast_id)).all())

    def answer_entries(self, action: str = AUDIT_ACTION) -> list[dict[str, Any]]:
        with self.db.read() as session:
            rows = session.execute(select(AuditEntry.actor, AuditEntry.subject, AuditEntry.details)
                                   .where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()
        return [{"actor": a, "subject": s, **json.loads(d)} for a, s, d in rows]

    def self_report_entries(self) -> list[dict[str, Any]]:
        return self.answer_entries(SELF_REPORT_ACTION)

    def post_answer(self, token: str, answer: str, **kw: Any) -> Reply:
        page = self.call("GET", f"/a/{token}")
        return self.call("POST", f"/a/{token}", form={"check": page.check, "answer": answer}, **kw)


def make_service(db_url: str, **app_options: Any) -> Service:
    db = open_database(db_url)
    with db.write() as session:
        settings.set_value(session, "org.name", "Acme Rail", "test")
    seeded = seed_broadcast(db, 3, body=BODY, group_post=True)
    return Service(db, make_app(db, **app_options), seeded)


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:
    svc = make_service(db_url)
    yield svc
    svc.app.close()
    svc.db.dispose()


def assert_secure(reply: Reply) -> None:
    for name, value in SECURITY.items():
        assert reply.headers.get(name) == value, name


# --- GET and HEAD: show, never record --------------------------------------------------

def test_get_shows_the_message_and_records_nothing(service: Service) -> None:
    before = service.answer_entries()
    reply = service.call("GET", f"/a/{service.tokens[0]}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert_secure(reply)
    assert "Acme Rail" in reply.body and "Fire alarm at the Leeds office" in reply.body
    assert "<strong>nearest</strong>" in reply.body and "&lt;script&gt;" in reply.body
    assert '<a href="https://status.example.org">status</a>' in reply.body
    assert re.findall(r'<button type="submit" name="answer" value="([^"]*)"', reply.body) == \
        ["I&#x27;m safe", "I need help"]
    assert '<html lang="en">' in reply.body
    assert set(service.answers().values()) == {None}
    assert service.answer_entries() == before


def test_head_has_the_headers_of_get_and_no_body(service: Service) -> None:
    get = service.call("GET", f"/a/{service.tokens[0]}")
    head = service.call("HEAD", f"/a/{service.tokens[0]}")
    assert head.status == 200 and head.body == ""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert_secure(head)
    assert set(service.answers().values()) == {None}


def test_read_connections_cannot_write(service: Service) -> None:
    """GET is read-only by construction: the database refuses writes on its connections."""
    pool = ReadPool(RawDialect(service.db), 1)
    try:
        with pytest.raises(Exception, match=r"(?i)read.?only|query_only|readonly"), pool.cursor() as cur:
            cur.execute("UPDATE recipients SET answer = 'x'")
    finally:
        pool.close()


# --- POST: record, change, audit ------------------------------------------------------

def test_post_records_the_answer_with_an_audit_entry(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    token = service.tokens[1]
    email = next(e for e, t in service.seeded.tokens.items() if t == token)
    with caplog.at_level(logging.INFO, logger="console.acks"):
        reply = service.post_answer(token, "I'm safe")
    assert reply.status == 200
    assert_secure(reply)
    assert "Answer recorded" in reply.body and "I&#x27;m safe" in reply.body
    assert re.search(r"Recorded at <time datetime=\"[0-9T:+-]+\">\d\d:\d\d:\d\d UTC", reply.body)
    assert service.answers()[email] == "I'm safe"
    [entry] = service.answer_entries()
    assert entry["actor"] == email and entry["subject"] == f"broadcast {service.seeded.broadcast_id}"
    assert entry["answer"] == "I'm safe" and entry["previous"] is None and entry["late"] is False
    assert entry["client"] == CLIENT and entry["via"] == "link" and entry["time"]
    lines = [r.getMessage() for r in caplog.records if r.name == "console.acks"]
    assert len(lines) == 1 and "I'm safe" in lines[0] and CLIENT in lines[0]
    assert all(token not in line for line in lines)


def test_answering_again_changes_the_answer_and_keeps_history(service: Service) -> None:
    token = service.tokens[0]
    assert service.post_answer(token, "I need help").status == 200
    again = service.post_answer(token, "I'm safe")
    assert again.status == 200 and "This replaces the earlier answer “I need help”." in again.body
    page = service.call("GET", f"/a/{token}")
    assert "You answered “I&#x27;m safe”" in page.body
    assert [(e["previous"], e["answer"]) for e in service.answer_entries()] == [
        (None, "I need help"), ("I need help", "I'm safe")]
    with service.db.read() as session:
        status = broadcast_status(session, service.seeded.broadcast_id)
        assert audit.verify(session).ok
    assert status.acknowledged == 1 and status.answers == {"I'm safe": 1, "I need help": 0}


def test_an_answer_that_is_not_an_option_is_refused(service: Service) -> None:
    reply = service.post_answer(service.tokens[0], "I am fine thanks")
    assert reply.status == 400 and "choose one of the answers" in reply.body
    assert_secure(reply)
    assert service.answer_entries() == [] and set(service.answers().values()) == {None}


@pytest.mark.parametrize("form", [
    {"answer": "I'm safe"},
    {"answer": "I'm safe", "check": ""},
    {"answer": "I'm safe", "check": "0" * 32},
])
def test_a_post_without_the_page_check_is_refused(service: Service, form: dict[str, str]) -> None:
    reply = service.call("POST", f"/a/{service.tokens[0]}", form=form)
    assert reply.status == 400 and "out of date" in reply.body
    assert service.answer_entries() == []


def test_the_check_of_one_link_does_not_fit_another(service: Service) -> None:
    other = service.call("GET", f"/a/{service.tokens[1]}").check
    reply = service.call("POST", f"/a/{service.tokens[0]}", form={"check": other, "answer": "I'm safe"})
    assert reply.status == 400


@pytest.mark.parametrize(("body", "content_type"), [
    (b"answer=I%27m+safe&answer=I+need+help", FORM),
    (b"answer=%ff%fe", FORM),
    (b"answer=\xc3\xa9", FORM),
    (b'{"answer": "I\'m safe"}', "application/json"),
    (b"&".join(b"f%d=1" % i for i in range(20)), FORM),
])
def test_malformed_forms_get_400(service: Service, body: bytes, content_type: str) -> None:
    reply = service.call("POST", f"/a/{service.tokens[0]}", body=body, content_type=content_type)
    assert reply.status == 400
    assert_secure(reply)


def test_bodies_over_the_limit_get_413_without_recording(service: Service) -> None:
    check = service.call("GET", f"/a/{service.tokens[0]}").check
    big = urlencode({"check": check, "answer": "I'm safe", "pad": "x" * 5000}).encode()
    assert service.call("POST", f"/a/{service.tokens[0]}", body=big).status == 413
    # A body without Content-Length (chunked upstream) is cut at the limit too.
    assert service.call("POST", f"/a/{service.tokens[0]}", body=big, length="").status == 413
    assert service.answer_entries() == []


# --- unknown and malformed tokens -----------------------------------------------------

@pytest.mark.parametrize("path", [
    "/a/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # well formed, unknown
    "/a/short",
    "/a/" + "A" * 31 + "!",
    "/a/",
    "/g/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "/g/%2e%2e",
])
def test_unknown_or_malformed_tokens_get_the_same_bare_404(service: Service, path: str) -> None:
    reply = service.call("GET", path)
    baseline = service.call("GET", "/a/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")
    assert reply.status == 404 and reply.body == baseline.body
    assert "Link not found" in reply.body
    assert_secure(reply)
    post = service.call("POST", path, form={"answer": "I'm safe", "check": "x"})
    assert post.status == 404 and post.body == baseline.body


def test_too_many_invalid_tokens_from_one_address_get_429(db_url: str) -> None:
    svc = make_service(db_url, limiter=FailureLimiter(max_failures=5, window=60, block=120))
    try:
        for i in range(5):
            assert svc.call("GET", f"/a/{'X' * 31}{i}", client="198.51.100.7").status == 404
        blocked = svc.call("GET", f"/a/{'Y' * 32}", client="198.51.100.7")
        assert blocked.status == 429 and blocked.headers["Retry-After"] == "120"
        assert_secure(blocked)
        assert svc.call("POST", f"/g/{'Z' * 32}", client="198.51.100.7", form={}).status == 429
        assert svc.call("GET", "/a/short", client="198.51.100.7").status == 429
        # what is valid is never refused because of what the same address sent
        assert svc.call("GET", f"/a/{svc.tokens[0]}", client="198.51.100.7").status == 200
        assert svc.post_answer(svc.tokens[0], "I need help", client="198.51.100.7").status == 200
        assert svc.call("GET", f"/g/{svc.seeded.group_token}", client="198.51.100.7").status == 200
        assert svc.call("GET", f"/a/{'Y' * 32}", client="198.51.100.8").status == 404
        assert svc.call("GET", "/healthz", client="198.51.100.7").status == 200
    finally:
        svc.app.close()
        svc.db.dispose()


def test_valid_links_never_count_towards_the_limit(db_url: str) -> None:
    svc = make_service(db_url, limiter=FailureLimiter(max_failures=3, window=60, block=120))
    try:
        for _ in range(10):
            for token in svc.tokens:
                assert svc.call("GET", f"/a/{token}", client="203.0.113.1").status == 200
    finally:
        svc.app.close()
        svc.db.dispose()


# --- closed broadcasts: late answers --------------------------------------------------

def test_answers_to_a_cancelled_broadcast_are_recorded_late(service: Service) -> None:
    token = service.tokens[0]
    check = service.call("GET", f"/a/{token}").check
    with service.db.write() as session:
        cancel(session, service.seeded.broadcast_id, "test")
    reply = service.call("POST", f"/a/{token}", form={"check": check, "answer": "I'm safe"})
    assert reply.status == 200 and "marked as late" in reply.body
    with service.db.read() as session:
        late = session.scalars(select(Recipient.answer_late).where(Recipient.answer.is_not(None))).all()
    assert late == [True]
    assert service.answer_entries()[0]["late"] is True


def test_answers_after_the_all_clear_are_late_but_the_all_clear_itself_is_not(db_url: str) -> None:
    svc = make_service(db_url)
    try:
        with svc.db.write() as session:
            incident = session.scalar(text("SELECT incident_id FROM broadcasts WHERE id = :b"),
                                      {"b": svc.seeded.broadcast_id})
            done = create_broadcast(session, svc.db.secrets, BroadcastRequest(
                title="All clear", body="Back to work.", groups=["all"], incident_id=incident, kind="all_clear",
            ), "test")
            sealed = session.scalar(select(Recipient.token_sealed).where(Recipient.broadcast_id ==
                                                                         done.broadcast_id).limit(1))
        assert sealed is not None
        all_clear_token = svc.db.secrets.open(sealed)
        assert svc.post_answer(svc.tokens[0], "I'm safe").status == 200
        reply = svc.post_answer(all_clear_token, "Acknowledge")
        assert reply.status == 200 and "late" not in reply.body
        assert [e["late"] for e in svc.answer_entries()] == [True, False]
    finally:
        svc.app.close()
        svc.db.dispose()


def test_the_page_says_so_once_the_broadcast_is_closed(db_url: str) -> None:
    svc = make_service(db_url)
    svc.app.lookup.close()
    svc.app.lookup = Lookup(svc.db, ttl=0.0)
    try:
        with svc.db.write() as session:
            cancel(session, svc.seeded.broadcast_id, "test")
        assert "will be marked as late" in svc.call("GET", f"/a/{svc.tokens[0]}").body
    finally:
        svc.app.close()
        svc.db.dispose()


def test_exercise_pages_carry_the_banner(db_url: str) -> None:
    db = open_database(db_url)
    seeded = seed_broadcast(db, 1, exercise=True)
    app = make_app(db)
    try:
        svc = Service(db, app, seeded)
        body = svc.call("GET", f"/a/{svc.tokens[0]}").body
        assert "<strong>EXERCISE</strong> This is a drill" in body
        assert "EXERCISE" in svc.post_answer(svc.tokens[0], "I'm safe").body
    finally:
        app.close()
        db.dispose()


# --- group links ------------------------------------------------------------------------

def test_group_link_records_a_self_report_for_the_recipient_with_that_email(service: Service) -> None:
    path = f"/g/{service.seeded.group_token}"
    page = service.call("GET", path)
    assert page.status == 200 and 'name="email"' in page.body and '<label for="email">' in page.body
    assert_secure(page)
    reply = service.call("POST", path, form={"check": page.check, "answer": "I need help",
                                             "email": "  Person2@Example.ORG "})
    assert reply.status == 200 and "self-report" in reply.body and "person2" not in reply.body
    assert service.answers() == {"person0@example.org": None, "person1@example.org": None,
                                 "person2@example.org": "I need help"}
    assert service.answer_entries() == []  # not a personal answer
    [entry] = service.self_report_entries()
    assert entry["via"] == "group link" and entry["source"] == "group" and entry["email"] == "person2@example.org"
    assert entry["applied"] is True and entry["needs_help"] is True


def test_group_link_gives_no_hint_whether_an_email_exists(service: Service) -> None:
    with service.db.write() as session:  # in the directory, but not a recipient of this broadcast
        save_contact(session, "test", name="Late Joiner", email="joiner@example.org")
    path = f"/g/{service.seeded.group_token}"
    check = service.call("GET", path).check
    replies = [service.call("POST", path, form={"check": check, "answer": "I'm safe", "email": email})
               for email in ("person1@example.org", "joiner@example.org", "nobody@example.org")]
    assert [r.status for r in replies] == [200, 200, 200]
    assert replies[0].body == replies[1].body == replies[2].body
    assert replies[0].headers == replies[1].headers == replies[2].headers
    assert service.answers()["person1@example.org"] == "I'm safe"
    assert [e["email"] for e in service.self_report_entries()] == ["person1@example.org"]


@pytest.mark.parametrize("email", ["", "not-an-address", "x" * 330 + "@example.org"])
def test_group_link_needs_an_email(service: Service, email: str) -> None:
    path = f"/g/{service.seeded.group_token}"
    check = service.call("GET", path).check
    reply = service.call("POST", path, form={"check": check, "answer": "I'm safe", "email": email})
    assert reply.status == 400 and "work email" in reply.body


def test_group_link_answers_are_limited_per_address_and_per_link(db_url: str) -> None:
    svc = make_service(db_url, limits=Limits(per_group_client=3, per_group_link=5, window=60))
    try:
        path = f"/g/{svc.seeded.group_token}"
        check = svc.call("GET", path).check

        def post(i: int, client: str) -> int:
            return svc.call("POST", path, client=client,
                            form={"check": check, "answer": "I'm safe", "email": f"guess{i}@example.org"}).status

        assert [post(i, "198.51.100.1") for i in range(4)] == [200, 200, 200, 429]
        assert [post(i, "198.51.100.2") for i in range(3)] == [200, 200, 429]  # the link's 5 are used up
        assert svc.call("GET", path).status == 200  # reading is never limited
        assert svc.post_answer(svc.tokens[0], "I'm safe", client="198.51.100.1").status == 200
    finally:
        svc.app.close()
        svc.db.dispose()


def test_a_personal_check_does_not_work_on_the_group_link(service: Service) -> None:
    personal = service.call("GET", f"/a/{service.tokens[0]}").check
    reply = service.call("POST", f"/g/{service.seeded.group_token}",
                         form={"check": personal, "answer": "I'm safe", "email": "person0@example.org"})
    assert reply.status == 400


# --- the rest ------------------------------------------------------------------------------

def test_healthz(service: Service) -> None:
    ok = service.call("GET", "/healthz")
    assert ok.status == 200 and json.loads(ok.body) == {"status": "ok", "database": "ok", "writer": "running"}
    assert ok.headers["Content-Type"] == "application/json"
    assert_secure(ok)
    assert service.call("HEAD", "/healthz").status == 200
    service.app.recorder.stop()
    down = service.call("GET", "/healthz")
    assert down.status == 503 and json.loads(down.body)["writer"] == "stopped"


def test_answers_after_the_writer_stopped_get_503(service: Service) -> None:
    service.app.recorder.stop()
    reply = service.post_answer(service.tokens[0], "I'm safe")
    assert reply.status == 503 and reply.headers["Retry-After"] == "30"
    assert_secure(reply)


def test_stylesheet_is_served_as_a_file(service: Service) -> None:
    css = service.call("GET", "/static/ack.css")
    assert css.status == 200 and css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert "button.answer" in css.body
    assert_secure(css)
    assert service.call("GET", "/static/other.css").status == 404


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", "/a/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "GET, HEAD, POST"),
    ("DELETE", "/g/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "GET, HEAD, POST"),
    ("POST", "/healthz", "GET, HEAD"),
    ("POST", "/static/ack.css", "GET, HEAD"),
])
def test_other_methods_get_405(service: Service, method: str, path: str, allow: str) -> None:
    reply = service.call(method, path, form={})
    assert reply.status == 405 and reply.headers["Allow"] == allow
    assert_secure(reply)


@pytest.mark.parametrize("path", ["/", "/a", "/admin", "/a/x/y", "/favicon.ico"])
def test_other_paths_get_404(service: Service, path: str) -> None:
    reply = service.call("GET", path)
    assert reply.status == 404
    assert_secure(reply)


def test_a_failure_inside_gives_a_plain_500_page(service: Service, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    def broken(_digest: str) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service.app.lookup, "recipient", broken)
    with caplog.at_level(logging.ERROR, logger="console.acks"):
        reply = service.call("GET", f"/a/{service.tokens[0]}")
    assert reply.status == 500 and "disk on fire" not in reply.body and "Something went wrong" in reply.body
    assert_secure(reply)
    assert any("failed on a GET request" in r.getMessage() for r in caplog.records)
    assert all(service.tokens[0] not in r.getMessage() for r in caplog.records)


def test_the_form_key_is_shared_by_every_instance(service: Service) -> None:
    """A page rendered by one server is accepted by another (behind a load balancer, or after a restart)."""
    check = service.call("GET", f"/a/{service.tokens[0]}").check
    other = make_app(service.db)
    try:
        second = Service(service.db, other, service.seeded)
        reply = second.call("POST", f"/a/{service.tokens[0]}", form={"check": check, "answer": "I'm safe"})
        assert reply.status == 200
    finally:
        other.close()
    with service.db.read() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == AUDIT_ACTION)) == 1
