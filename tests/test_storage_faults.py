"""Storage faults through the real CLI: one line naming the file and the cause, the right exit, nothing written.

A missing path, an empty (0-byte) file, a file with damaged pages, a non-database,
a wrong or missing key, PostgreSQL out of reach; and the modes of a new database.
The disk-full and read-only cases (real small file systems) are in test_storage_disk.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from console.storage import CorruptDatabaseError, Database, NoDatabaseError, open_database
from console.storage.secrets import SecretBox
from tests.conftest import TEST_FERNET_KEY

if TYPE_CHECKING:
    from tests.conftest import CliRunner

MAIL_URL = "mailto://127.0.0.1:9?from=alerts@example.org&to={address}"
SEND = ("send", "--title", "Fire", "--body", "Leave now", "--group", "all")
WRONG_KEY = Fernet.generate_key().decode()

# Commands that must never create a database (each with what it needs to get that far).
NON_CREATING = [
    ("status", "1"), ("remind", "1"), ("cancel", "1"), (*SEND,), ("contacts", "list"), ("groups", "list"),
    ("channels", "list"), ("settings", "list"), ("audit", "verify"), ("audit", "export", "--format", "json"),
    ("dispatch",), ("serve-acks", "--port", "0"),
]


def error_line(out: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command prints (and nothing on stdout that looks like success)."""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("crisis-console: error: "), out.stderr
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seeded_database(path: Path, people: int = 2000) -> Path:
    """A real database: contacts, a mail channel and a broadcast to everyone (nothing sent)."""
    from console.bench.acks import seed_broadcast

    db = Database(f"sqlite:///{path}", secrets=SecretBox(TEST_FERNET_KEY.encode(), "tests"))
    seed_broadcast(db, people)
    db.dispose()
    return path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_database(tmp_path_factory.mktemp("pristine") / "console.db")


def damage_pages(path: Path, count: int = 20) -> None:
    """Overwrite `count` pages in the middle of the file with noise, as a failing disk would."""
    page = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    pages = path.stat().st_size // page
    assert pages > 4 * count, "the database is too small to damage in the middle"
    noise = bytes((i * 151 + 7) % 256 for i in range(page))
    with path.open("r+b") as fh:
        for n in range(pages // 2, pages // 2 + count):
            fh.seek(n * page)
            fh.write(noise)


# --- a path with no database ---------------------------------------------------------

@pytest.mark.parametrize("command", NON_CREATING, ids=lambda c: " ".join(c[:2]))
def test_a_mistyped_path_creates_nothing(cli: CliRunner, tmp_path: Path, command: tuple[str, ...]) -> None:
    target = tmp_path / "missing" / "dir" / "x.db"
    out = cli(*command, db=f"sqlite:///{target}")
    assert out.returncode == 2
    line = error_line(out)
    assert f"no database at {target}" in line and "does not exist" in line
    assert not (tmp_path / "missing").exists()


def test_no_file_in_an_existing_folder_is_no_database_and_stays_so(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "x.db"
    out = cli("audit", "verify", db=f"sqlite:///{target}")
    assert out.returncode == 2 and f"no database at {target}" in error_line(out)
    assert "OK" not in out.stdout
    assert list(tmp_path.iterdir()) == []


def test_the_default_database_is_not_created_by_a_reading_command(cli: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = cli("contacts", "list", env={"XDG_DATA_HOME": str(data), "CRISIS_CONSOLE_DB": None})
    assert out.returncode == 2
    assert f"no database at {data / 'crisis-console' / 'console.db'}" in error_line(out)
    assert not data.exists()


def test_an_empty_sqlite_database_is_no_console_database(tmp_path: Path) -> None:
    empty, foreign = tmp_path / "empty.db", tmp_path / "foreign.db"
    sqlite3.connect(empty).execute("PRAGMA journal_mode=WAL").fetchone()
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY)")
    with pytest.raises(NoDatabaseError, match=f"no Crisis Console database at {empty}: it is empty"):
        open_database(f"sqlite:///{empty}", create=False)
    with pytest.raises(NoDatabaseError, match="is not a Crisis Console database"):
        open_database(f"sqlite:///{foreign}", create=False)
    assert sqlite3.connect(foreign).execute("SELECT name FROM sqlite_master").fetchall() == [("recipes",)]


# --- a new database is private -------------------------------------------------------

def test_a_new_database_is_0600_in_folders_made_0700(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "new" / "sub" / "console.db"
    before = stat.S_IMODE(tmp_path.stat().st_mode)
    out = cli("settings", "set", "org.name", "Acme", db=f"sqlite:///{target}")
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "sub").stat().st_mode) == 0o700
    assert stat.S_IMODE(tmp_path.stat().st_mode) == before  # a folder that was there is left alone
    assert sorted(p.name for p in target.parent.iterdir()) == ["console.db"]  # no temporary file left


def test_wal_and_shm_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "private" / "console.db"
    old = os.umask(0)
    try:
        db = open_database(f"sqlite:///{target}")
    finally:
        os.umask(old)
    try:
        with db.write() as session:  # the WAL and its index exist while a connection is open
            session.connection().exec_driver_sql("CREATE TABLE probe (x)")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in target.parent.iterdir()}
    finally:
        db.dispose()
    assert modes == {"console.db": 0o600, "console.db-wal": 0o600, "console.db-shm": 0o600}
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


# --- an empty (0-byte) file ----------------------------------------------------------

@pytest.mark.parametrize("command", [
    ("status", "1"), ("contacts", "list"), SEND, ("audit", "verify"),
    ("settings", "set", "org.name", "Acme"), ("contacts", "import", "people.csv"),
], ids=lambda c: " ".join(c[:2]))
def test_a_0_byte_file_is_a_lost_database_not_a_new_one(cli: CliRunner, tmp_path: Path, command: tuple[str,
                                                        ...]) -> None:
    (tmp_path / "people.csv").write_text("name,email,phone,groups\nAnn,ann@example.org,,\n", encoding="utf-8")
    target = tmp_path / "console.db"
    target.touch()
    out = cli(*(tmp_path / a if a == "people.csv" else a for a in command), db=f"sqlite:///{target}")
    assert out.returncode == 1
    line = error_line(out)
    assert f"{target} is empty (0 bytes)" in line and "lost" in line
    assert "OK" not in out.stdout
    assert target.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["console.db", "people.csv"]


# --- damaged pages, not a database ---------------------------------------------------

@pytest.mark.parametrize("command", [("status", "1"), ("contacts", "list"), SEND, ("audit", "verify"),
                                     ("settings", "set", "org.name", "Acme")],
                         ids=lambda c: " ".join(c[:2]))
def test_damaged_pages_are_found_before_anything_is_written(cli: CliRunner, tmp_path: Path, pristine: Path,
                                                            command: tuple[str, ...]) -> None:
    target = tmp_path / "console.db"
    target.write_bytes(pristine.read_bytes())
    damage_pages(target)
    before = digest(target)
    out = cli(*command, db=f"sqlite:///{target}")
    assert out.returncode == 1
    line = error_line(out)
    assert f"{target} is damaged" in line and "restore it from a backup" in line
    assert out.stdout == ""
    assert digest(target) == before


def test_an_intact_copy_still_works(cli: CliRunner, tmp_path: Path, pristine: Path) -> None:
    """The same database undamaged: the failures above come from the damage, not the set-up."""
    target = tmp_path / "console.db"
    target.write_bytes(pristine.read_bytes())
    out = cli("status", "1", "--json", db=f"sqlite:///{target}")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["recipients"] == 2000
    assert cli("audit", "verify", db=f"sqlite:///{target}").returncode == 0


def test_damage_after_a_clean_open_is_found_at_the_next(tmp_path: Path, pristine: Path) -> None:
    """A clean check is remembered (so an unchanged file is not read whole at every open), but any
    write to the file since, damage included, makes the next open check it again."""
    from console.storage.sqlitefile import _stamp_file

    target = tmp_path / "console.db"
    target.write_bytes(pristine.read_bytes())
    open_database(f"sqlite:///{target}", create=False).dispose()
    assert _stamp_file(target).exists()
    open_database(f"sqlite:///{target}", create=False).dispose()  # unchanged: opens (without a second check)
    damage_pages(target)
    with pytest.raises(CorruptDatabaseError, match=f"{target} is damaged"):
        open_database(f"sqlite:///{target}", create=False)


def test_a_file_that_is_not_a_database(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "people.csv"
    target.write_text("name,email\nAnn,ann@example.org\n", encoding="utf-8")
    out = cli("contacts", "import", target, db=f"sqlite:///{target}")
    assert out.returncode == 1
    assert f"{target} is not a SQLite database" in error_line(out)
    assert target.read_text(encoding="utf-8") == "name,email\nAnn,ann@example.org\n"


# --- the secret key ------------------------------------------------------------------

@pytest.fixture
def sent(cli: CliRunner, tmp_path: Path) -> str:
    """A database with people, a mail channel and broadcast 1 queued (nothing sent)."""
    db = f"sqlite:///{tmp_path / 'console.db'}"
    people = tmp_path / "people.csv"
    people.write_text("name,email,phone,groups\n" + "".join(f"P{i},p{i}@example.org,,\n" for i in range(5)),
                      encoding="utf-8")
    assert cli("contacts", "import", people, db=db).returncode == 0
    assert cli("channels", "add", "--name", "Mail", "--kind", "email", "--url", MAIL_URL, db=db).returncode == 0
    assert cli(*SEND, db=db).returncode == 0
    return db


def snapshot(cli: CliRunner, db: str) -> tuple[list[tuple[str, str]], dict]:
    audit = json.loads(cli("audit", "export", "--format", "json", db=db).stdout)["entries"]
    status = json.loads(cli("status", "1", "--json", db=db).stdout)
    return [(e["action"], e["subject"]) for e in audit], status


@pytest.mark.parametrize("command", [("remind", "1"), ("remind", "1", "--wait"), SEND,
                                     ("channels", "add", "--name", "Mail 2", "--kind", "email", "--url", MAIL_URL)],
                         ids=lambda c: " ".join(c))
def test_a_wrong_key_stops_a_keyed_write_before_it_starts(cli: CliRunner, sent: str, command: tuple[str, ...]) -> None:
    before = snapshot(cli, sent)
    out = cli(*command, db=sent, env={"CRISIS_CONSOLE_KEY": WRONG_KEY})
    assert out.returncode == 1
    line = error_line(out)
    assert "wrong secret key" in line and str(make_url(sent).database) in line
    assert out.stdout == ""
    assert snapshot(cli, sent) == before
    assert cli("status", "2", db=sent).returncode == 2  # no second broadcast


def test_a_missing_key_is_said_and_no_new_key_is_made(cli: CliRunner, sent: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    before = snapshot(cli, sent)
    out = cli("remind", "1", db=sent, env={"CRISIS_CONSOLE_KEY": None, "XDG_CONFIG_HOME": str(config)})
    assert out.returncode == 1
    line = error_line(out)
    assert "no secret key" in line and "restore the key file" in line
    assert not config.exists()
    assert snapshot(cli, sent) == before


def test_the_right_key_still_reminds(cli: CliRunner, sent: str) -> None:
    out = cli("remind", "1", db=sent)
    assert out.returncode == 0, out.stderr
    assert "reminding 5 recipients" in out.stdout


# --- PostgreSQL ----------------------------------------------------------------------

def test_postgresql_out_of_reach_is_one_line(cli: CliRunner, pg_url: str) -> None:
    url = make_url(pg_url)
    with_port = url.set(port=1).render_as_string(hide_password=False)
    out = cli("contacts", "list", db=with_port)
    assert out.returncode == 1
    line = error_line(out)
    assert "cannot connect to" in line and ":1/" in line and "Connection refused" in line

    missing = url.set(database="no_such_database").render_as_string(hide_password=False)
    for command in (("contacts", "list"), ("settings", "set", "org.name", "Acme")):
        out = cli(*command, db=missing)
        assert out.returncode == 2
        assert 'no database at' in (line := error_line(out)) and '"no_such_database" does not exist' in line

    out = cli("status", "1", db=pg_url)  # an empty database: made only by a command that sets one up
    assert out.returncode == 2
    assert "no Crisis Console database at" in error_line(out)
    assert cli("settings", "set", "org.name", "Acme", db=pg_url).returncode == 0
    assert cli("settings", "list", db=pg_url).returncode == 0


# --- the last resort in main() -------------------------------------------------------

def test_a_driver_error_that_escapes_is_still_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from console.cli import _database_fault

    try:
        sqlite3.connect(":memory:").execute("SELECT * FROM nowhere")
    except sqlite3.Error as exc:
        status = _database_fault(exc, None)
    assert status == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "database error" in err[0] and "no such table: nowhere" in err[0]
