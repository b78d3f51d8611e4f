"""An auditor on PostgreSQL: a role with SELECT only (as the README shows) opens the console read-only and
runs the reading commands; the server refuses its writes, and a read-only session refuses them even for
a role that could write."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql
from PySide6.QtWidgets import QLabel, QTableView
from pytestqt.qtbot import QtBot
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from console.errors import ConsoleError
from console.gui.prefs import Preferences
from console.gui.readonly import BADGE_NAME
from console.gui.services import OFF
from console.services import settings
from console.storage import open_database
from tests.helpers.auditdata import HELPER, populate
from tests.helpers.gui import isolate_qsettings
from tests.helpers.readonly import open_window, walk

if TYPE_CHECKING:
    from tests.conftest import CliRunner

pytestmark = pytest.mark.postgres

GRANTS = """
GRANT CONNECT ON DATABASE {db} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
"""
"""The README's grants for an auditors' role (CREATE ROLE … LOGIN first)."""


@dataclass(frozen=True)
class Auditing:
    owner_url: str
    auditor_url: str
    incident_id: int
    broadcast_id: int


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """A superuser connection to the database of `url`."""
    parsed = make_url(url)
    return psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database,
                           autocommit=True)


@pytest.fixture
def auditing(pg_url: str) -> Iterator[Auditing]:
    """A populated database and a login role that may only SELECT from it; the role dropped afterwards."""
    db = open_database(pg_url)
    try:
        incident_id, broadcast_id = populate(db)
    finally:
        db.dispose()
    role = f"auditor_{uuid.uuid4().hex[:12]}"
    database = make_url(pg_url).database
    with _admin(pg_url) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        for statement in GRANTS.strip().splitlines():
            conn.execute(sql.SQL(statement.rstrip(";")).format(db=sql.Identifier(database or ""),
                                                               role=sql.Identifier(role)))
    auditor_url = make_url(pg_url).set(username=role).render_as_string(hide_password=False)
    try:
        yield Auditing(pg_url, auditor_url, incident_id, broadcast_id)
    finally:
        with _admin(pg_url) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_cli_reads_with_a_select_only_role(cli: CliRunner, auditing: Auditing, tmp_path: Path) -> None:
    url = auditing.auditor_url
    contacts = cli("contacts", "list", "--json", "--read-only", db=url)
    assert contacts.returncode == 0, contacts.stderr
    assert len(json.loads(contacts.stdout)) == 4
    status = cli("status", str(auditing.broadcast_id), "--json", "--read-only", db=url)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["recipients"] == 4
    shown = cli("incident", "show", str(auditing.incident_id), "--json", "--read-only", db=url)
    assert shown.returncode == 0, shown.stderr
    assert HELPER in shown.stdout
    verify = cli("audit", "verify", "--read-only", db=url)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("OK: ")
    out = tmp_path / "audit.json"
    export = cli("audit", "export", "--format", "json", "--out", out, "--read-only", db=url)
    assert export.returncode == 0, export.stderr
    assert out.stat().st_size > 0
    refused = cli("settings", "set", "org.name", "Forged", "--read-only", db=url)
    assert refused.returncode == 2
    assert "`settings set` would change the database" in refused.stderr


def test_the_server_refuses_the_role_a_write_even_without_read_only(cli: CliRunner, auditing: Auditing) -> None:
    res = cli("settings", "set", "org.name", "Forged", db=auditing.auditor_url)
    assert res.returncode == 1, res.stderr
    assert len(res.stderr.splitlines()) == 1 and "permission denied for table settings" in res.stderr
    db = open_database(auditing.owner_url, create=False)
    try:
        assert settings.get(db, "org.name") != "Forged"
    finally:
        db.dispose()


def test_a_read_only_session_refuses_writes_even_for_a_role_that_may_write(auditing: Auditing) -> None:
    db = open_database(auditing.owner_url, create=False, read_only=True)
    try:
        with pytest.raises((ConsoleError, DBAPIError), match="read-only transaction"), db.read() as session:
            session.execute(text("UPDATE settings SET value = 'Forged' WHERE key = 'ack.public_url'"))
    finally:
        db.dispose()
    db = open_database(auditing.owner_url, create=False)
    try:
        assert settings.get(db, "ack.public_url") == "http://127.0.0.1:9"
    finally:
        db.dispose()


@pytest.mark.gui
def test_the_console_opens_read_only_with_a_select_only_role(qtbot: QtBot, auditing: Auditing,
                                                             tmp_path: Path) -> None:
    isolate_qsettings(tmp_path / "qsettings")
    db = open_database(auditing.auditor_url, create=False, read_only=True)
    try:
        with open_window(qtbot, db, Preferences()) as (window, services):
            errors: list[str] = []
            services.tasks.unhandled.connect(errors.append)
            assert (services.state.dispatcher, services.state.ack) == (OFF, OFF)
            badge = window.findChild(QLabel, BADGE_NAME)
            assert badge is not None and badge.isVisible()
            seen = walk(qtbot, window, auditing.incident_id, auditing.broadcast_id)
            assert {where: live for where, live in seen.items() if live} == {}
            people = window.page("directory").findChild(QTableView, "contactsTable")
            assert people is not None and people.model().rowCount() == 4
            audit_rows = max(t.model().rowCount() for t in window.page("audit").findChildren(QTableView))
            assert audit_rows > 0
            assert errors == []
    finally:
        db.dispose()
