"""Answers you can trust, tried as an attacker would, against the real service (waitress on port 0).

Group-link answers are self-reports: they never replace a personal answer and never clear
"needs help"; the group page says the same for members and strangers; a flood of bad links
never locks out a valid one; replays record nothing new. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from console import audit
from console.acks.answers import AUDIT_ACTION, SELF_REPORT_ACTION
from console.acks.limits import FailureLimiter
from console.acks.server import AckServer
from console.acks.wsgi import Limits
from console.bench.acks import Seeded, seed_broadcast
from console.broadcast.status import broadcast_status
from console.models import AuditEntry, Recipient
from console.storage import Database, open_database
from console.vocabulary import AnswerSource
from tests.conftest import require
from tests.helpers.mounts import Tmpfs

HELP, SAFE = "I need help", "I'm safe"


@dataclass
class Live:
    db: Database
    seeded: Seeded
    url: str

    def token(self, i: int) -> str:
        return self.seeded.tokens[f"person{i}@example.org"]

    def personal(self, i: int, answer: str, session: requests.Session | None = None) -> requests.Response:
        http = session or requests
        page = http.get(f"{self.url}/a/{self.token(i)}", timeout=10)
        assert page.status_code == 200
        return http.post(f"{self.url}/a/{self.token(i)}", data={"check": check_of(page.text), "answer": answer},
                         timeout=10)

    def group(self, email: str, answer: str | None = None, *, action: str | None = None,
              session: requests.Session | None = None, check: str | None = None) -> requests.Response:
        http = session or requests
        path = f"{self.url}/g/{self.seeded.group_token}"
        form = {"check": check or check_of(http.get(path, timeout=10).text), "email": email}
        if answer is not None:
            form["answer"] = answer
        if action is not None:
            form["action"] = action
        return http.post(path, data=form, timeout=10)

    def state(self, i: int) -> tuple[str | None, str | None, bool, str | None]:
        """(answer in force, its source, needs help, kept self-report) of person i."""
        with self.db.read() as session:
            row = session.execute(select(Recipient.answer, Recipient.answer_source, Recipient.needs_help,
                                         Recipient.self_report)
                                  .where(Recipient.broadcast_id == self.seeded.broadcast_id,
                                         Recipient.email == f"person{i}@example.org")).one()
        return row.answer, row.answer_source, bool(row.needs_help), row.self_report

    def entries(self, action: str) -> int:
        with self.db.read() as session:
            return session.scalar(select(func.count()).where(AuditEntry.action == action)) or 0


def check_of(page: str) -> str:
    found = re.search(r'name="check" value="([^"]*)"', page)
    assert found, "no check field on the page"
    return found.group(1)


def serve(db_url: str, people: int, **app_options: Any) -> Iterator[Live]:
    db = open_database(db_url)
    seeded = seed_broadcast(db, people, group_post=True)
    server = AckServer(db, "127.0.0.1", 0, cpu="all", **app_options)
    try:
        yield Live(db, seeded, server.start())
    finally:
        server.stop()
        db.dispose()


@pytest.fixture
def live(db_url: str) -> Iterator[Live]:
    yield from serve(db_url, 4)


def test_self_reports_never_replace_a_personal_answer_nor_clear_needs_help(live: Live) -> None:
    assert live.personal(0, HELP).status_code == 200
    assert live.personal(1, SAFE).status_code == 200

    assert live.group("person0@example.org", SAFE).status_code == 200  # someone "helpfully" clears a help request
    assert live.state(0) == (HELP, AnswerSource.PERSONAL, True, SAFE)
    assert live.group("person1@example.org", HELP).status_code == 200  # a self-report never replaces a personal answer
    assert live.state(1) == (SAFE, AnswerSource.PERSONAL, False, HELP)

    assert live.group("PERSON2@example.org ", HELP).status_code == 200  # no answer yet: the self-report counts
    assert live.state(2) == (HELP, AnswerSource.GROUP, True, HELP)
    assert live.group("person2@example.org", SAFE).status_code == 200  # ... but cannot be cleared by another
    assert live.state(2) == (HELP, AnswerSource.GROUP, True, SAFE)
    assert live.personal(2, SAFE).status_code == 200  # the person's own link can
    assert live.state(2) == (SAFE, AnswerSource.PERSONAL, False, SAFE)

    assert live.group("person3@example.org", SAFE).status_code == 200
    assert live.group("person3@example.org", HELP).status_code == 200  # a self-report may raise the alarm
    assert live.state(3) == (HELP, AnswerSource.GROUP, True, HELP)

    with live.db.read() as session:
        status = broadcast_status(session, live.seeded.broadcast_id)
        assert audit.verify(session).ok
    assert (status.acknowledged, status.needs_help, status.self_reported) == (4, 2, 1)
    assert status.as_json()["self_reported"] == 1 and status.as_json()["help_options"] == [HELP]
    with live.db.read() as session:
        details = [json.loads(d) for d in session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == SELF_REPORT_ACTION).order_by(AuditEntry.seq))]
    assert [(d["email"], d["answer"], d["applied"]) for d in details] == [
        ("person0@example.org", SAFE, False), ("person1@example.org", HELP, False),
        ("person2@example.org", HELP, True), ("person2@example.org", SAFE, False),
        ("person3@example.org", SAFE, True), ("person3@example.org", HELP, True)]
    assert all(d["source"] == "group" and d["via"] == "group link" for d in details)


def test_a_flood_of_group_answers_flips_no_help_request(db_url: str) -> None:
    """The attack as found: 8 threads post "I'm safe" for everyone who asked for help."""
    people = 200
    for live in serve(db_url, people, limits=Limits(per_group_link=10_000, per_group_client=10_000)):
        for i in range(people):
            assert live.personal(i, HELP).status_code == 200
        check = check_of(requests.get(f"{live.url}/g/{live.seeded.group_token}", timeout=10).text)
        emails = [f"person{i}@example.org" for i in range(people)]
        codes: list[int] = []

        def attack(chunk: list[str]) -> None:
            with requests.Session() as http:
                # (B023: the threads are joined within this iteration, so these are the current values)
                codes.extend(live.group(e, SAFE, session=http, check=check).status_code for e in chunk)  # noqa: B023

        threads = [threading.Thread(target=attack, args=(emails[k::8],)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert codes == [200] * people
        with live.db.read() as session:
            status = broadcast_status(session, live.seeded.broadcast_id)
        assert status.answers == {SAFE: 0, HELP: people} and status.needs_help == people
        assert status.self_reported == 0


def test_the_group_limits_slow_a_flood_down(db_url: str) -> None:
    for live in serve(db_url, 3, limits=Limits(per_group_client=5, per_group_link=50)):
        check = check_of(requests.get(f"{live.url}/g/{live.seeded.group_token}", timeout=10).text)
        codes = [live.group(f"someone{i}@example.org", SAFE, check=check).status_code for i in range(8)]
        assert codes == [200] * 5 + [429] * 3
        refused = live.group("person0@example.org", SAFE, check=check)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert live.personal(0, HELP).status_code == 200  # the personal link is not the group link's budget
        assert live.state(0)[0] == HELP


def test_member_and_stranger_get_byte_identical_answers(live: Live) -> None:
    def exchange(email: str, **kw: Any) -> tuple[int, bytes, dict[str, str]]:
        reply = live.group(email, **kw)
        headers = {k: v for k, v in reply.headers.items() if k.lower() != "date"}
        return reply.status_code, reply.content, headers

    for kw in ({"answer": SAFE}, {"action": "send_link"}):
        member = exchange("person1@example.org", **kw)
        stranger = exchange("nobody@example.org", **kw)
        insider = exchange("person1@example.org.evil", **kw)
        assert member == stranger == insider
        assert member[0] == 200
    assert live.state(1)[0] == SAFE


def test_an_address_flooding_bad_links_is_refused_only_what_is_invalid(db_url: str) -> None:
    for live in serve(db_url, 2, limiter=FailureLimiter(max_failures=30, window=60, block=300)):
        with requests.Session() as http:  # one client address, like a whole office behind one NAT
            codes = [http.get(f"{live.url}/a/{'Q' * 31}{i % 10}", timeout=10).status_code for i in range(40)]
            assert codes[:30] == [404] * 30 and set(codes[30:]) == {429}
            assert http.get(f"{live.url}/a/{live.token(0)}", timeout=10).status_code == 200
            assert live.personal(0, HELP, session=http).status_code == 200
            assert http.get(f"{live.url}/g/{live.seeded.group_token}", timeout=10).status_code == 200
            assert http.get(f"{live.url}/a/{'R' * 32}", timeout=10).status_code == 429
        assert live.state(0)[:3] == (HELP, AnswerSource.PERSONAL, True)


def test_a_hundred_replays_of_one_answer_leave_one_audit_entry(live: Live) -> None:
    page = requests.get(f"{live.url}/a/{live.token(0)}", timeout=10)
    form = {"check": check_of(page.text), "answer": HELP}
    before = live.entries(AUDIT_ACTION)
    with requests.Session() as http:
        replies = [http.post(f"{live.url}/a/{live.token(0)}", data=form, timeout=10) for _ in range(100)]
    codes = [r.status_code for r in replies]
    assert codes[0] == 200 and set(codes) <= {200, 429} and codes.count(200) >= 20
    assert "already recorded" in replies[1].text
    assert live.entries(AUDIT_ACTION) - before == 1
    assert live.state(0)[:3] == (HELP, AnswerSource.PERSONAL, True)
    with live.db.read() as session:
        assert audit.verify(session).ok


def test_self_report_replays_are_recorded_once(live: Live) -> None:
    for _ in range(20):
        assert live.group("person3@example.org", SAFE).status_code == 200
    assert live.entries(SELF_REPORT_ACTION) == 1


def test_healthz_says_unhealthy_while_answers_cannot_be_committed(tmp_path: Path) -> None:
    """The database's disk fills up under a running service: /healthz and answers say 503, nothing
    is half-written, and both recover when there is room again."""
    disk = require(lambda: Tmpfs(tmp_path / "disk", 16 * 1024))
    path = disk.path / "console.db"
    try:
        for live in serve(f"sqlite:///{path}", 2):
            assert requests.get(f"{live.url}/healthz", timeout=10).json()["status"] == "ok"
            page = requests.get(f"{live.url}/a/{live.token(0)}", timeout=10)
            with sqlite3.connect(path) as conn:  # an empty WAL: the next commit needs new room on the disk
                assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
            filler = disk.fill()
            try:
                sick = wait_for_health(live.url, 503)
                assert sick.json() == {"status": "unavailable", "database": "ok", "writer": "cannot commit"}
                refused = requests.post(f"{live.url}/a/{live.token(0)}",
                                        data={"check": check_of(page.text), "answer": HELP}, timeout=40)
                assert refused.status_code == 503 and "Answer not recorded" in refused.text
            finally:
                filler.unlink()
            wait_for_health(live.url, 200)
            assert live.personal(0, HELP).status_code == 200
            assert live.state(0)[:3] == (HELP, AnswerSource.PERSONAL, True)
            with live.db.read() as session:
                assert audit.verify(session).ok
    finally:
        disk.unmount()


def wait_for_health(url: str, status: int, timeout: float = 15.0) -> requests.Response:
    """/healthz once it answers `status` (its result is reused for a couple of seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = requests.get(f"{url}/healthz", timeout=10)
        if reply.status_code == status or time.monotonic() > deadline:
            assert reply.status_code == status, reply.text
            return reply
        time.sleep(0.2)
