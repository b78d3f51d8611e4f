"""Storage: URL resolution, schema by migrations, SQLite pragmas, PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text

from console.models import ALL_GROUP, Delivery, Group
from console.storage import Database, DatabaseURLError, open_database, resolve_url
from console.storage.migrate import current_revision, head_revision
from console.storage.schema import HEAD, is_current


def test_open_creates_schema_and_builtin_group(db_url: str) -> None:
    db = open_database(db_url)
    assert current_revision(db.engine) == head_revision()
    with db.read() as session:
        assert session.scalars(select(Group.name)).all() == [ALL_GROUP]
    tables = set(inspect(db.engine).get_table_names())
    assert {"contacts", "groups", "memberships", "channels", "templates", "incidents", "broadcasts",
            "recipients", "deliveries", "audit_log", "settings", "alembic_version"} <= tables
    db.dispose()


def test_the_head_known_without_alembic_is_the_migrations_head(db_url: str) -> None:
    assert HEAD == head_revision()
    db = open_database(db_url)
    assert is_current(db.engine)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    assert not is_current(db.engine)
    db.dispose()


def test_opening_a_current_database_does_not_import_alembic(sqlite_url: str) -> None:
    open_database(sqlite_url).dispose()  # created and upgraded: Alembic runs here
    probe = ("import sys; from console.storage import open_database; "
             f"open_database({sqlite_url!r}).dispose(); print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parent.parent, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_hot_lookups_are_indexed(db_url: str) -> None:
    db = open_database(db_url)
    insp = inspect(db.engine)
    delivery_indexes: set[tuple[str | None, ...]] = {tuple(i["column_names"]) for i in insp.get_indexes("deliveries")}
    assert ("state", "next_attempt_at") in delivery_indexes
    assert ("broadcast_id", "state") in delivery_indexes
    assert ("broadcast_id", "changed_at") in delivery_indexes  # what the live view reads
    unique: set[tuple[str | None, ...]] = {tuple(c["column_names"]) for c in insp.get_unique_constraints("recipients")}
    unique |= {tuple(i["column_names"]) for i in insp.get_indexes("recipients") if i.get("unique")}
    assert ("token_hash",) in unique
    db.dispose()


def test_reopening_is_idempotent(db_url: str) -> None:
    open_database(db_url).dispose()
    db = open_database(db_url)
    with db.read() as session:
        assert session.scalars(select(Group.name)).all() == [ALL_GROUP]
    db.dispose()


def test_older_database_is_upgraded_on_start(db_url: str) -> None:
    """A database made by an older release (here: one at no revision with a stray table) is brought to head."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE legacy_note (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    db = open_database(db_url)
    assert current_revision(db.engine) == head_revision()
    assert "legacy_note" in inspect(db.engine).get_table_names()
    db.dispose()


def test_sqlite_uses_wal_and_foreign_keys(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_url_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CRISIS_CONSOLE_DB", "sqlite:///from-env.db")
    assert resolve_url("sqlite:///explicit.db") == "sqlite:///explicit.db"
    assert resolve_url(None) == "sqlite:///from-env.db"
    monkeypatch.delenv("CRISIS_CONSOLE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert resolve_url(None) == f"sqlite:///{tmp_path}/crisis-console/console.db"


def test_default_database_is_created_in_user_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CRISIS_CONSOLE_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    db = open_database(None)
    db.dispose()
    path = tmp_path / "crisis-console" / "console.db"
    assert path.exists()
    assert sqlite3.connect(path).execute("select name from groups").fetchall() == [("all",)]


@pytest.mark.parametrize("url", ["nonsense", "mysql://localhost/x", "sqlite+nodriver:///x.db"])
def test_bad_database_url_is_a_user_error(url: str) -> None:
    with pytest.raises(DatabaseURLError):
        Database(url)


def test_first_release_database_is_upgraded_with_its_data(db_url: str) -> None:
    """A database left at the first migration keeps its rows when a newer release opens it."""
    from alembic import command

    from console.storage.migrate import alembic_config

    engine = create_engine(db_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO contacts (name, email, created_at, updated_at) "
                          "VALUES ('Ann', 'ann@example.org', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        sent_at = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)
        conn.execute(text("INSERT INTO incidents (id, title, state, exercise, opened_at) "
                          "VALUES (1, 'Fire', 'open', false, :t)"), {"t": sent_at})
        conn.execute(text("INSERT INTO broadcasts (id, incident_id, kind, title, body, severity, options, exercise, "
                          "state, audience, channel_ids, unreachable, sender, created_at) VALUES (1, 1, 'alert', "
                          "'Fire', 'Leave', 'critical', '[]', false, 'sent', '{}', '[1]', '[]', 'ann', :t)"),
                     {"t": sent_at})
        conn.execute(text("INSERT INTO channels (id, name, kind, url_sealed, url_masked, enabled, created_at) "
                          "VALUES (1, 'Mail', 'email', :u, 'mailto://****', true, :t)"), {"u": b"x", "t": sent_at})
        conn.execute(text("INSERT INTO deliveries (broadcast_id, channel_id, reminder, state, attempts, "
                          "next_attempt_at, sent_at, created_at) VALUES (1, 1, false, 'sent', 1, :c, :s, :c)"),
                     {"c": sent_at - dt.timedelta(minutes=1), "s": sent_at})
    engine.dispose()
    db = open_database(db_url)
    assert current_revision(db.engine) == head_revision()
    with db.read() as session:
        assert session.execute(text("SELECT name FROM contacts")).scalars().all() == ["Ann"]
        changed = session.scalars(select(Delivery.changed_at)).one()  # 0002: stamped from what it had
        assert changed is not None and changed.replace(tzinfo=dt.UTC) == sent_at
    db.dispose()
