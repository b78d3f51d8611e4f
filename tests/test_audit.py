"""The audit chain: every mutation audited, tampering caught, exports re-verifiable."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import rfc8785
from sqlalchemy import create_engine

from console import audit
from console.storage import open_database

if TYPE_CHECKING:
    from tests.conftest import CliRunner


def _fill(db_url: str, n: int = 5) -> None:
    db = open_database(db_url)
    for i in range(n):
        with db.write() as session:
            audit.append(session, "tester", "test.action", f"subject {i}", {"i": i, "note": "ünïcode"})
    db.dispose()


def _sql(db_url: str, statement: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()


def test_verify_ok(cli: CliRunner, db_url: str) -> None:
    _fill(db_url)
    out = cli("audit", "verify", db=db_url)
    first, note = out.stdout.strip().splitlines()
    assert (out.returncode, first) == (0, "OK: 5 entries")
    assert "cannot be excluded" in note and "--checkpoints" in note  # says what a chain alone cannot show


def test_edited_details_named_by_seq(cli: CliRunner, db_url: str) -> None:
    _fill(db_url)
    _sql(db_url, "UPDATE audit_log SET details = '{\"i\":99,\"note\":\"ünïcode\"}' WHERE seq = 3")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1
    assert out.stderr.startswith("BAD: seq 3: hash does not match")


def test_edited_actor_named_by_seq(cli: CliRunner, db_url: str) -> None:
    _fill(db_url)
    _sql(db_url, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1 and "seq 2:" in out.stderr


def test_deleted_middle_entry(cli: CliRunner, db_url: str) -> None:
    _fill(db_url)
    _sql(db_url, "DELETE FROM audit_log WHERE seq = 3")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1
    assert out.stderr.startswith("BAD: seq 3: entry missing")


def test_deleted_last_entry(cli: CliRunner, db_url: str) -> None:
    _fill(db_url)
    _sql(db_url, "DELETE FROM audit_log WHERE seq = 5")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1
    assert "seq 5:" in out.stderr and "cut short" in out.stderr


def test_inserted_entry(cli: CliRunner, db_url: str) -> None:
    _fill(db_url)
    _sql(db_url, "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3")
    _sql(db_url, "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100")
    _sql(db_url, "INSERT INTO audit_log (seq, time, actor, action, subject, details, prev_hash, hash) "
                 "SELECT 3, time, actor, action, subject, details, prev_hash, hash FROM audit_log WHERE seq = 2")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1 and out.stderr.startswith("BAD: seq 3:")


def test_reordered_entries(cli: CliRunner, db_url: str) -> None:
    _fill(db_url)
    _sql(db_url, "UPDATE audit_log SET seq = 100 WHERE seq = 2")
    _sql(db_url, "UPDATE audit_log SET seq = 2 WHERE seq = 4")
    _sql(db_url, "UPDATE audit_log SET seq = 4 WHERE seq = 100")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1 and out.stderr.startswith("BAD: seq 2:")


def test_concurrent_writers_keep_one_linear_chain(db_url: str) -> None:
    db = open_database(db_url)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(25):
                with db.write() as session:
                    audit.append(session, f"writer{w}", "test.concurrent", f"{w}/{i}", {})
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as session:
        result = audit.verify(session)
    assert result.ok and result.entries == 150
    db.dispose()


# What an auditor does with each CSV cell before hashing (console/audit/export.py's docstring).
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _read_cell(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell.lstrip("'").startswith(_TRIGGERS) else cell


def _read_csv_export(data: bytes) -> list[dict]:
    """The entry rows, cells restored; the proof row (seq "#proof", first after the header) checked and dropped."""
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    proof = rows.pop(0)
    assert proof["seq"] == "#proof" and json.loads(proof["details"])["count"] == len(rows)
    assert proof["hash"] == (rows[-1]["hash"] if rows else "0" * 64)
    for row in rows:
        for key, cell in row.items():
            row[key] = _read_cell(cell)
        row["seq"] = int(row["seq"])
        row["details"] = json.loads(row["details"])
    return rows


def _recompute(entries: list[dict]) -> bool:
    """The README's recipe, with an independent RFC 8785 implementation (the rfc8785 package)."""
    prev = "0" * 64
    for e in entries:
        body = {k: e[k] for k in ("seq", "time", "actor", "action", "subject", "details")}
        if e["canon"] == "rfc8785":
            canonical = rfc8785.dumps(body).decode("utf-8")
        else:
            assert e["canon"] == "legacy-1"
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if e["prev_hash"] != prev or hashlib.sha256((prev + canonical).encode()).hexdigest() != e["hash"]:
            return False
        prev = e["hash"]
    return True


def test_exports_reverify_outside_the_app(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    _fill(db_url)
    out = cli("audit", "export", "--format", "json", db=db_url)
    assert out.returncode == 0, out.stderr
    entries = json.loads(out.stdout)["entries"]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert _recompute(entries)

    target = tmp_path / "audit.csv"
    out = cli("audit", "export", "--format", "csv", "--out", str(target), db=db_url)
    assert out.returncode == 0, out.stderr
    assert _recompute(_read_csv_export(target.read_bytes()))


# Formula starters, the same behind quotes (so a neutralised cell can be told from a quoted value),
# control and bidi characters, and harmless quotes.
HOSTILE = [
    '=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "\rcmd",
    "'=already quoted", "''+two quotes", "'plain", "it's", "\x1b[2J\x1b]8;;http://evil.example\x07x",
    "Ann\u202eexe.doc", "\x85nel",  # no NUL: PostgreSQL text cannot hold one
]


def test_csv_export_neutralises_formulas_and_still_reverifies(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    db = open_database(db_url)
    for i, name in enumerate(HOSTILE):
        with db.write() as session:
            audit.append(session, name, name, name, {"name": name, "i": i})
    db.dispose()
    target = tmp_path / "audit.csv"
    out = cli("audit", "export", "--format", "csv", "--out", str(target), db=db_url)
    assert out.returncode == 0, out.stderr
    data = target.read_bytes()
    header = b'"seq","time","actor","action","subject","details","prev_hash","hash","canon"\r\n'
    assert data.startswith(b"\xef\xbb\xbf" + header)
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    text = data.decode("utf-8-sig")
    assert ',"\'=HYPERLINK(""http://evil.example"",""click"")",' in text  # quoted, prefixed, quotes doubled
    for value in ("+1+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "'=already quoted", "''+two quotes"):
        assert f',"\'{value}","\'{value}","\'{value}",' in text  # actor, action, subject
    for value in ("'plain", "it's"):
        assert f',"{value}","{value}","{value}",' in text  # no formula: left alone
    rows = _read_csv_export(data)
    assert [r["actor"] for r in rows] == HOSTILE
    assert [r["details"]["name"] for r in rows] == HOSTILE
    assert _recompute(rows)


def test_json_export_escapes_c1_and_bidi_but_decodes_the_same(cli: CliRunner, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    with db.write() as session:
        audit.append(session, "Ann\u202eexe.doc", "test.action", "\x85\x7f", {"name": "\u2066x\u2069"})
    db.dispose()
    out = cli("audit", "export", "--format", "json", db=sqlite_url)
    assert out.returncode == 0, out.stderr
    assert not any(c in out.stdout for c in "\u202e\x85\x7f\u2066\u2069")
    assert "Ann\\u202eexe.doc" in out.stdout and "\\u0085\\u007f" in out.stdout
    entries = json.loads(out.stdout)["entries"]
    assert entries[0]["actor"] == "Ann\u202eexe.doc" and entries[0]["details"] == {"name": "\u2066x\u2069"}
    assert _recompute(entries)


def test_export_to_unwritable_place_is_a_user_error(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    _fill(sqlite_url, 1)  # read commands do not create a database
    out = cli("audit", "export", "--format", "json", "--out", str(tmp_path / "no" / "dir" / "x.json"), db=sqlite_url)
    assert out.returncode == 2
    assert "--out" in out.stderr and "Traceback" not in out.stderr
