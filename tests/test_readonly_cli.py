"""Read-only mode on the command line and in the database layer.

`--read-only` (before or after the command) or env CRISIS_CONSOLE_READ_ONLY=1: every command that
would write exits 2 with one line naming it, and the database file is byte-for-byte the same
dump afterwards; reading commands work. Behind the commands, a Database opened read-only refuses
writes itself: `write()` says so, SQLite connections are `query_only`, nothing is migrated,
created or sealed on open.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from console.cli import READING_COMMANDS, build_parser
from console.errors import ConsoleError
from console.storage import Database, ReadOnlyModeError, open_database
from console.storage.database import KEY_CHECK_SETTING
from tests.helpers.auditdata import HELPER, dump, populate

if TYPE_CHECKING:
    from tests.conftest import CliRunner

WRITING_COMMANDS: dict[str, list[str]] = {
    "contacts import": ["contacts", "import", "people.csv"],
    "channels add": ["channels", "add", "--name", "Mail", "--kind", "email", "--url", "mailto://127.0.0.1:9"],
    "settings set": ["settings", "set", "org.name", "Forged"],
    "send": ["send", "--title", "T", "--body", "B", "--group", "all"],
    "remind": ["remind", "1"],
    "cancel": ["cancel", "1"],
    "dispatch": ["dispatch"],
    "serve-acks": ["serve-acks", "--port", "0"],
    "scheduled cancel": ["scheduled", "cancel", "1"],
    "incident handle": ["incident", "handle", "1", "--contact", HELPER, "--note", "done"],
    "incident reopen": ["incident", "reopen", "1", "--contact", HELPER],
    "incident close": ["incident", "close", "1", "--force", "--reason", "drill over"],
}
"""Every command that changes the database, with arguments it would accept."""


def command_names() -> set[str]:
    """Every command the parser knows, as typed ("contacts import", "status")."""
    found: set[str] = set()

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs and path:
            found.add(" ".join(path))
        for action in subs:
            for name, child in action.choices.items():
                walk(child, [*path, name])

    walk(build_parser(), [])
    return found


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[str, Path]:
    """(URL, file) of a SQLite database with people, an incident and a help request."""
    path = tmp_path / "console.db"
    db = open_database(f"sqlite:///{path}")
    try:
        populate(db)
    finally:
        db.dispose()
    (tmp_path / "people.csv").write_text("name,email,phone,groups\nMallory,mallory@example.org,,all\n")
    return f"sqlite:///{path}", path


def test_every_command_is_either_reading_or_refused() -> None:
    """A new command must be placed: listed as reading (allowed) or here as writing (refused)."""
    commands = command_names()
    assert {"gui", "contacts list", "audit verify", "audit export"} <= commands & READING_COMMANDS
    assert set(WRITING_COMMANDS) <= commands
    assert commands - READING_COMMANDS - set(WRITING_COMMANDS) == set()
    assert not READING_COMMANDS & set(WRITING_COMMANDS)


@pytest.mark.parametrize("name", sorted(WRITING_COMMANDS))
def test_writes_are_refused_with_one_line_and_nothing_written(cli: CliRunner, seeded: tuple[str, Path],
                                                              tmp_path: Path, name: str) -> None:
    url, path = seeded
    before = dump(path)
    args = [str(tmp_path / a) if a == "people.csv" else a for a in WRITING_COMMANDS[name]]
    res = cli(*args, "--read-only", db=url)
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    assert res.stderr.splitlines() == [
        f"crisis-console: error: read-only mode: `{name}` would change the database; run it without "
        "--read-only (and without env CRISIS_CONSOLE_READ_ONLY=1)"]
    assert dump(path) == before


def test_the_flag_before_the_command_and_the_environment_refuse_too(cli: CliRunner, seeded: tuple[str, Path],
                                                                    tmp_path: Path) -> None:
    url, path = seeded
    before = dump(path)
    first = cli("--read-only", "contacts", "import", tmp_path / "people.csv", db=url)
    by_env = cli("settings", "set", "org.name", "Forged", db=url, env={"CRISIS_CONSOLE_READ_ONLY": "1"})
    assert (first.returncode, by_env.returncode) == (2, 2)
    assert "`contacts import` would change the database" in first.stderr
    assert "`settings set` would change the database" in by_env.stderr
    assert len(first.stderr.splitlines()) == len(by_env.stderr.splitlines()) == 1
    unset = cli("settings", "list", "--json", db=url, env={"CRISIS_CONSOLE_READ_ONLY": "0"})
    assert unset.returncode == 0, unset.stderr
    bad = cli("contacts", "list", db=url, env={"CRISIS_CONSOLE_READ_ONLY": "maybe"})
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "crisis-console: error: env CRISIS_CONSOLE_READ_ONLY: 'maybe' is neither 1 nor 0"]
    assert dump(path) == before


def test_a_refused_write_creates_no_database(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "new.db"
    res = cli("--read-only", "settings", "set", "org.name", "X", db=f"sqlite:///{target}")
    assert res.returncode == 2 and "`settings set` would change the database" in res.stderr
    reading = cli("--read-only", "contacts", "list", db=f"sqlite:///{target}")
    assert reading.returncode == 2 and "no database at" in reading.stderr
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_reads_work_in_read_only_mode_and_write_nothing(cli: CliRunner, seeded: tuple[str, Path],
                                                        tmp_path: Path) -> None:
    url, path = seeded
    before = dump(path)
    contacts = cli("--read-only", "contacts", "list", "--json", db=url)
    assert contacts.returncode == 0, contacts.stderr
    assert {c["email"] for c in json.loads(contacts.stdout)} == {f"person{i}@example.org" for i in range(1, 5)}
    status = cli("status", "1", "--json", "--read-only", db=url)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["recipients"] == 4
    shown = cli("incident", "show", "1", "--json", "--read-only", db=url)
    assert shown.returncode == 0, shown.stderr
    assert HELPER in shown.stdout
    for args in (["groups", "list"], ["channels", "list", "--json"], ["settings", "list"], ["incident", "list"],
                 ["scheduled", "list"]):
        res = cli(*args, db=url, env={"CRISIS_CONSOLE_READ_ONLY": "1"})
        assert res.returncode == 0, (args, res.stderr)
    verify = cli("audit", "verify", "--read-only", db=url)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("OK: ")
    out = tmp_path / "audit.json"
    export = cli("audit", "export", "--format", "json", "--out", out, "--read-only", db=url)
    assert export.returncode == 0, export.stderr
    assert out.stat().st_size > 0  # a file, not the database
    assert dump(path) == before


# --- the database layer: the backstop behind the commands ------------------------------------------------------


def test_write_is_refused_by_a_read_only_database(seeded: tuple[str, Path]) -> None:
    url, path = seeded
    before = dump(path)
    db = open_database(url, create=False, read_only=True)
    try:
        assert db.read_only
        with pytest.raises(ReadOnlyModeError, match="read-only mode: this would write to .*console.db"):
            with db.write():
                pytest.fail("a write transaction was opened")
        with pytest.raises((ConsoleError, DBAPIError)), db.read() as session:  # SQLite's query_only
            session.execute(text("UPDATE settings SET value = 'Forged' WHERE key = 'ack.public_url'"))
    finally:
        db.dispose()
    assert dump(path) == before


def test_environment_opens_every_database_read_only(seeded: tuple[str, Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url, _path = seeded
    monkeypatch.setenv("CRISIS_CONSOLE_READ_ONLY", "1")
    db = open_database(url)
    try:
        assert db.read_only
    finally:
        db.dispose()


def test_no_key_check_is_sealed_on_a_read_only_open(tmp_path: Path) -> None:
    """A database that has no secret sealed yet stays so: the check value is written only by writers."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    Database(url).dispose()
    before = dump(tmp_path / "fresh.db")
    db = open_database(url, create=False, read_only=True)
    try:
        db.secrets  # noqa: B018 - the key from env CRISIS_CONSOLE_KEY (tests/conftest.py)
    finally:
        db.dispose()
    after = dump(tmp_path / "fresh.db")
    assert after == before and not any(KEY_CHECK_SETTING in line for line in after)


def test_a_schema_behind_is_not_migrated_but_named(cli: CliRunner, seeded: tuple[str, Path]) -> None:
    url, path = seeded
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0003'")
    conn.close()
    before = dump(path)
    with pytest.raises(ReadOnlyModeError, match="schema 0003, this version needs .*open it once without --read-only"):
        open_database(url, create=False, read_only=True)
    res = cli("--read-only", "contacts", "list", db=url)
    assert res.returncode == 2
    assert len(res.stderr.splitlines()) == 1 and "open it once without --read-only" in res.stderr
    assert dump(path) == before


def test_read_only_and_the_demo_do_not_go_together(cli: CliRunner, tmp_path: Path) -> None:
    """The demo fills its own database: refused before any window or database is opened."""
    for args in (["--read-only", "--demo"], ["gui", "--demo", "--read-only"]):
        res = cli(*args, env={"XDG_DATA_HOME": str(tmp_path / "data")})
        assert res.returncode == 2, res.stderr
        assert res.stderr.splitlines() == [
            "crisis-console: error: --read-only and --demo do not go together: the demo writes its own database"]
    assert not (tmp_path / "data").exists()
