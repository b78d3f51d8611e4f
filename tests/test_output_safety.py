"""Output that cannot run: names shown escaped on a terminal, CSV cells that are not formulas."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from console import audit
from console.directory.service import save_contact, save_group
from console.directory.validate import ContactFieldError
from console.models import Contact
from console.storage import Database, open_database
from console.textsafe import TerminalWriter, for_terminal, neutralise_cell, restore_cell, safe_json

if TYPE_CHECKING:
    from tests.conftest import CliRunner

REPO_ROOT = Path(__file__).resolve().parent.parent
RAW_BAD = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + list(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MAIL_URL = "mailtos://alerts:pw@smtp.example.org?from=alerts@example.org&to={address}"


def _raw_bad_in(text: str) -> list[str]:
    return sorted({c for c in text if c in RAW_BAD and c != "\n"})


# --- the functions --------------------------------------------------------------------

def test_for_terminal_escapes_controls_escapes_and_bidi_visibly() -> None:
    assert for_terminal("\x1b[2Jhi") == "\\x1b[2Jhi"
    assert for_terminal("\x1b]8;;http://evil.example\x07link\x1b]8;;\x07") == (
        "\\x1b]8;;http://evil.example\\x07link\\x1b]8;;\\x07")
    assert for_terminal("a\x00b\tc\nd\re\x7f\x85\x9f") == "a\\x00b\\x09c\\x0ad\\x0de\\x7f\\x85\\x9f"
    assert for_terminal("Ann\u202eexe.doc \u2066x\u2069 \u200f\u061c") == (
        "Ann\\u202eexe.doc \\u2066x\\u2069 \\u200f\\u061c")
    assert for_terminal("Zoë Ångström, 李, =1+2, it's") == "Zoë Ångström, 李, =1+2, it's"
    assert _raw_bad_in(for_terminal("".join(RAW_BAD))) == []


def test_safe_json_decodes_to_the_same_value() -> None:
    value = {"name": "".join(RAW_BAD) + "Zoë", "k\u202e": ["\x85"]}
    text = safe_json(json.dumps(value, ensure_ascii=False, indent=2))
    assert _raw_bad_in(text) == [] and "Zoë" in text
    assert json.loads(text) == value


def test_terminal_writer_keeps_lines_drops_the_bom_escapes_the_rest() -> None:
    out = io.StringIO()
    writer = TerminalWriter(out)
    writer.write("\ufeff\"a\",\"b\x1b[2J\"\r\n")
    writer.write("\"\ufeffc\r\",\"d\"\r\n")
    assert out.getvalue() == "\"a\",\"b\\x1b[2J\"\n\"\ufeffc\\x0d\",\"d\"\n"


@pytest.mark.parametrize("value", [
    "=1+2", "+1", "-1", "@x", "\tx", "\rx", "'=x", "''@x", "'x", "''", "'", "", "x'=", "plain", "{\"a\":1}",
])
def test_neutralised_cells_read_back_exactly(value: str) -> None:
    cell = neutralise_cell(value)
    assert restore_cell(cell) == value
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


# --- contacts saved through the service (the desktop's path) ---------------------------

def test_service_refuses_control_characters(sqlite_db: Database) -> None:
    name_error = r"^name: contains a control character \(U\+001B\)$"
    with pytest.raises(ContactFieldError, match=name_error), sqlite_db.write() as session:
        save_contact(session, "tester", name="\x1b[2JAnn", email="ann@example.org")
    group_error = r"^group name: contains a control character \(U\+0000\)$"
    with pytest.raises(ContactFieldError, match=group_error), sqlite_db.write() as session:
        save_group(session, "tester", "Ops\x00")
    with sqlite_db.write() as session:
        saved = save_contact(session, "tester", name="=1+2 \u202eRTL", email="eq@example.org")
        assert saved.name == "=1+2 \u202eRTL"
    with sqlite_db.read() as session:
        assert list(session.scalars(select(Contact.email))) == ["eq@example.org"]


# --- the command line -----------------------------------------------------------------

HOSTILE_NAMES = {  # stored before this check existed, or written to the database by other means
    "esc@example.org": "\x1b[2J\x1b[31mRED",
    "osc@example.org": "\x1b]8;;http://evil.example\x07Click\x1b]8;;\x07",
    "cr@example.org": "Real name\rFake name",
    "nl@example.org": "two\nlines",
    "c1@example.org": "csi\x9b2J",
}


def _seed(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text("name,email,phone,groups\n"
                     "=HYPERLINK(\"http://evil.example\"),=cmd@example.org,,@ops\n"
                     "Ann\u202eexe.doc,rlo@example.org,,\n"
                     "-2+3,minus@example.org,+44 7700 900123,\n", encoding="utf-8")
    out = cli("contacts", "import", str(staff), "--actor", "=evil()", db=db_url)
    assert out.returncode == 0, out.stderr
    db = open_database(db_url)
    with db.write() as session:
        session.add_all(Contact(name=name, email=email) for email, name in HOSTILE_NAMES.items())
    db.dispose()


def test_contacts_list_prints_names_escaped(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    _seed(cli, db_url, tmp_path)
    out = cli("contacts", "list", db=db_url)
    assert out.returncode == 0, out.stderr
    assert _raw_bad_in(out.stdout) == []
    lines = out.stdout.splitlines()
    assert len(lines) == 3 + len(HOSTILE_NAMES) + 1 and lines[-1] == "8 contacts"  # no forged lines
    for needle in ("=HYPERLINK(\"http://evil.example\")", "=cmd@example.org", "@ops", "Ann\\u202eexe.doc",
                   "\\x1b[2J\\x1b[31mRED", "\\x1b]8;;http://evil.example\\x07Click\\x1b]8;;\\x07",
                   "Real name\\x0dFake name", "two\\x0alines", "csi\\x9b2J"):
        assert needle in out.stdout, needle

    as_json = cli("contacts", "list", "--json", db=db_url)
    assert as_json.returncode == 0, as_json.stderr
    assert _raw_bad_in(as_json.stdout) == [] and "Ann\\u202eexe.doc" in as_json.stdout
    names = {c["email"]: c["name"] for c in json.loads(as_json.stdout)}
    assert names["rlo@example.org"] == "Ann\u202eexe.doc" and names["c1@example.org"] == "csi\x9b2J"
    assert {e: names[e] for e in HOSTILE_NAMES} == HOSTILE_NAMES

    groups = cli("groups", "list", db=db_url)
    assert groups.returncode == 0 and "@ops" in groups.stdout and _raw_bad_in(groups.stdout) == []


def test_channel_names_and_errors_print_escaped(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    name = "Mail\x1b]0;pwned\x07\u202e"
    out = cli("channels", "add", "--name", name, "--kind", "email", "--url", MAIL_URL, db=sqlite_url)
    assert out.returncode == 0, out.stderr
    assert "Mail\\x1b]0;pwned\\x07\\u202e" in out.stdout and _raw_bad_in(out.stdout) == []
    listed = cli("channels", "list", db=sqlite_url)
    assert "Mail\\x1b]0;pwned\\x07\\u202e" in listed.stdout and _raw_bad_in(listed.stdout) == []

    missing = tmp_path / "\x1b[2J\u202enope.csv"
    failed = cli("contacts", "import", str(missing), db=sqlite_url)
    assert failed.returncode == 2
    assert failed.stderr == f"crisis-console: error: {tmp_path}/\\x1b[2J\\u202enope.csv: cannot read: " \
                            "No such file or directory\n"

    bad_rows = tmp_path / "\u202ebad.csv"
    bad_rows.write_text("name,email\nAnn,not-an-email\n", encoding="utf-8")
    rejected = cli("contacts", "import", str(bad_rows), db=sqlite_url)
    assert rejected.returncode == 2
    assert rejected.stderr.startswith(f"{tmp_path}/\\u202ebad.csv:2: email") and _raw_bad_in(rejected.stderr) == []


def test_audit_csv_export_bytes(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    _seed(cli, db_url, tmp_path)
    target = tmp_path / "audit.csv"
    out = cli("audit", "export", "--format", "csv", "--out", str(target), db=db_url)
    assert out.returncode == 0, out.stderr
    data = target.read_bytes()
    header = b'"seq","time","actor","action","subject","details","prev_hash","hash","canon"'
    assert data.startswith(b"\xef\xbb\xbf" + header + b"\r\n")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert data.split(b"\r\n")[1].startswith(b'"#proof","')  # the export's own proof comes first
    line = data.split(b"\r\n")[2]
    assert line.startswith(b'"1","') and b'","\'=evil()","contacts.import","' in line  # actor neutralised
    assert b'"{""created"":[""=cmd@example.org""' in line  # details: JSON in quotes, quotes doubled
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))[1:]
    assert [restore_cell(r["actor"]) for r in rows] == ["=evil()"]

    piped = subprocess.run([sys.executable, "-m", "console", "--db", db_url, "audit", "export", "--format", "csv"],
                           check=False, capture_output=True, env=_env(), stdin=subprocess.DEVNULL, timeout=120)
    assert piped.returncode == 0, piped.stderr
    # standard output gets the same bytes as --out, but for the time of export in the proof row
    assert _without_export_time(piped.stdout) == _without_export_time(data)


def _without_export_time(data: bytes) -> bytes:
    lines = data.split(b"\r\n")
    proof = next(csv.reader([lines[1].decode("utf-8")]))
    lines[1] = lines[1].replace(proof[1].encode(), b"T").replace(json.loads(proof[5])["exported_at"].encode(), b"T")
    return b"\r\n".join(lines)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH"))
                                                        if p)}


def _on_a_terminal(*args: str) -> bytes:
    """Run the CLI with its standard output on a pseudo-terminal; what the terminal received."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "console", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.DEVNULL, env=_env())
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        assert proc.wait(timeout=120) == 0
    return b"".join(chunks)


def test_audit_export_on_a_terminal_is_escaped(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    with db.write() as session:
        audit.append(session, "\x1b]0;pwned\x07\u202eactor", "test.action", "subject\x9b", {"name": "\x1b[2J"})
    db.dispose()
    expected = {"csv": "\\x1b]0;pwned\\x07\\u202eactor", "json": "\\u001b]0;pwned\\u0007\\u202eactor"}
    for fmt, needle in expected.items():
        shown = _on_a_terminal("--db", sqlite_url, "audit", "export", "--format", fmt).decode("utf-8")
        assert _raw_bad_in(shown.replace("\r\n", "\n")) == [], fmt
        assert "\ufeff" not in shown and needle in shown, shown
