"""Checkpoints made without anyone asking, posted to the auditors, and safe with many sealers.

Seals come after a broadcast finishes (the dispatcher of `send --wait`), when an
incident closes, and daily while a dispatcher runs; each is posted through the
auditors' channel (real SMTP), and concurrent sealers never interleave lines or
make the file go backwards.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from console import audit
from console.audit import checkpoints
from console.broadcast.auditseal import checkpoint_path, signing_key
from console.broadcast.dispatcher import DispatchConfig, Dispatcher
from console.mailsink import MailSink
from console.models import AuditEntry
from console.services import audit as audit_service
from console.services import incidents
from console.storage import Database, open_database
from tests.helpers.gui import seed
from tests.helpers.incidents import alert
from tests.test_send import send, setup_directory

if TYPE_CHECKING:
    from tests.conftest import CliRunner


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = open_database(sqlite_url)
    yield database
    database.dispose()


def _fill(db: Database, n: int) -> None:
    for i in range(n):
        with db.write() as session:
            audit.append(session, "tester", "test.action", f"subject {i}", {"i": i})


def _head(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.max(AuditEntry.seq))) or 0)


def _file(db: Database) -> Path:
    with db.read() as session:
        return checkpoint_path(session)


def _sealed(db: Database) -> list[checkpoints.Checkpoint]:
    path = _file(db)
    return checkpoints.load(path) if path.exists() else []


def _wait_for(condition: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def test_a_finished_broadcast_is_sealed(cli: CliRunner, sqlite_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 3, mail_sink.port)
    sent = send(cli, sqlite_url, "--group", "all", "--wait")
    db = open_database(sqlite_url)
    try:
        with db.read() as session:
            last_delivery = session.scalar(select(func.max(AuditEntry.seq)).where(
                AuditEntry.subject.like(f"%broadcast {sent['broadcast_id']}%")))
        found = _sealed(db)
        assert found, "no checkpoint after the broadcast finished"
        assert last_delivery is not None and found[-1].seq >= last_delivery
        assert found[-1].signature_ok(signing_key().public)
        assert audit_service.verify_with_checkpoints(db).ok
    finally:
        db.dispose()


def test_closing_an_incident_seals(db: Database) -> None:
    seed(db, 3)
    sent = alert(db)
    before = len(_sealed(db))
    incidents.close(db, sent.incident_id, "chief", force=True, reason="Everyone counted at the assembly point")
    found = _sealed(db)
    assert len(found) == before + 1
    assert found[-1].seq == _head(db)  # the close itself is sealed
    with db.read() as session:
        closed = session.scalar(select(AuditEntry.seq).where(AuditEntry.action == "incident.closed"))
    assert closed == found[-1].seq


def test_a_dispatcher_seals_daily_when_the_log_grew(db: Database) -> None:
    _fill(db, 4)
    dispatcher = Dispatcher(db, DispatchConfig(workers=1, processes=0, seal_poll=0.05)).start()
    try:
        assert _wait_for(lambda: len(_sealed(db)) == 1), "no daily seal from a running dispatcher"
        first = _sealed(db)[0]
        assert first.seq == 4
        _fill(db, 2)
        time.sleep(1.0)  # twenty polls: the last checkpoint is not a day old, so no new one
        assert len(_sealed(db)) == 1
    finally:
        dispatcher.stop()


def test_a_day_old_checkpoint_makes_the_next_seal_due(db: Database) -> None:
    _fill(db, 3)
    key = signing_key()
    with db.read() as session:
        log = audit.log.log_id(session)
    assert log is not None
    head = audit_service.verify(db)
    old = checkpoints.make(key, log, head.head_seq, head.head_hash, head.entries, "2020-01-01T00:00:00.000000Z")
    with checkpoints.locked(_file(db)) as handle:
        handle.append(old)
    _fill(db, 2)
    dispatcher = Dispatcher(db, DispatchConfig(workers=1, processes=0, seal_poll=0.05)).start()
    try:
        assert _wait_for(lambda: len(_sealed(db)) == 2)
        assert _sealed(db)[1].seq == 5
    finally:
        dispatcher.stop()
    assert audit_service.verify_with_checkpoints(db).ok


def test_each_checkpoint_is_posted_to_the_auditors(cli: CliRunner, sqlite_url: str, tmp_path: Path,
                                                   mail_sink: MailSink) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 2, mail_sink.port)
    assert cli("settings", "set", "audit.channel", "Corp mail auditors@example.org", db=sqlite_url).returncode == 0
    out = cli("audit", "seal", "--json", db=sqlite_url)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert (shown["posted"], shown["channel"], shown["warning"]) == (True, "Corp mail auditors@example.org", None)
    (mail,) = mail_sink.wait_for(1, timeout=30)
    assert list(mail.rcpt_tos) == ["auditors@example.org"]
    assert mail.subject.endswith(f"Audit checkpoint: seq {shown['seq']}")
    line = re.search(r'\{"count":.*?"time":"[^"]+"\}', mail.text)
    assert line is not None, mail.text
    posted = checkpoints.parse_line(line.group(0), "the mail", 1)
    assert posted.signature_ok() and posted.hash == shown["hash"] and posted.key == shown["key"]


def test_a_failed_post_is_a_warning_and_the_checkpoint_stays(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    setup_directory(cli, sqlite_url, tmp_path, 2, 9)  # nothing listens on port 9 (discard) here
    assert cli("settings", "set", "audit.channel", "Corp mail auditors@example.org", db=sqlite_url).returncode == 0
    out = cli("audit", "seal", "--json", db=sqlite_url)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["posted"] is False and "was not posted to the auditors' channel" in shown["warning"]
    assert "warning: the checkpoint is in" in out.stderr
    assert [cp.seq for cp in checkpoints.load(Path(shown["file"]))] == [shown["seq"]]


def test_concurrent_sealers_never_interleave_or_go_backwards(db_url: str) -> None:
    db = open_database(db_url)
    try:
        _seal_while_writing(db)
    finally:
        db.dispose()


def _seal_while_writing(db: Database) -> None:
    """Four threads seal five times each while a fifth appends 20 entries (on PostgreSQL, reads are
    READ COMMITTED: without one snapshot per seal a commit mid-check would look like a cut)."""
    _fill(db, 3)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            _fill(db, 20)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def sealer() -> None:
        try:
            for _ in range(5):
                audit_service.seal(db)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=sealer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    found = _sealed(db)
    assert len(found) == 20 and [cp.line for cp in found] == list(range(1, 21))
    assert [cp.seq for cp in found] == sorted(cp.seq for cp in found)
    verdict = audit_service.verify_with_checkpoints(db)
    assert verdict.ok and verdict.matched == 20, verdict.message()


@pytest.mark.postgres
def test_a_select_only_postgresql_role_seals_and_verifies(cli: CliRunner, pg_url: str) -> None:
    """Sealing never writes the database: an auditor's role with SELECT only seals, read-only or not."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    db = open_database(pg_url)
    try:
        _fill(db, 6)
    finally:
        db.dispose()
    parsed = make_url(pg_url)
    role = f"sealer_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database,
                         autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(parsed.database or ""),
                                                                          sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(role)))
    auditor = parsed.set(username=role).render_as_string(hide_password=False)
    try:
        first = cli("audit", "seal", "--json", db=auditor)
        assert first.returncode == 0, first.stderr
        again = cli("audit", "seal", "--json", "--read-only", db=auditor)
        assert again.returncode == 0, again.stderr
        path = json.loads(again.stdout)["file"]
        assert [cp.seq for cp in checkpoints.load(Path(path))] == [6, 6]
        checked = cli("audit", "verify", "--checkpoints", path, "--read-only", db=auditor)
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.startswith("OK: 6 entries\ncheckpoints: 2 in the file, 2 matching the log")
    finally:
        with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database,
                             autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
