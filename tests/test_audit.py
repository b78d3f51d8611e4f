"""The audit chain: every mutation audited, tampering caught, exports re-verifiable."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from pathlib import Path

from sqlalchemy import create_engine

from console import audit
from console.storage import open_database


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


def test_verify_ok(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _fill(db_url)
    out = cli("audit", "verify", db=db_url)
    assert (out.returncode, out.stdout.strip()) == (0, "OK: 5 entries")


def test_edited_details_named_by_seq(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _fill(db_url)
    _sql(db_url, "UPDATE audit_log SET details = '{\"i\":99,\"note\":\"ünïcode\"}' WHERE seq = 3")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1
    assert out.stderr.startswith("BAD: seq 3: hash does not match")


def test_edited_actor_named_by_seq(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _fill(db_url)
    _sql(db_url, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1 and "seq 2:" in out.stderr


def test_deleted_middle_entry(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _fill(db_url)
    _sql(db_url, "DELETE FROM audit_log WHERE seq = 3")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1
    assert out.stderr.startswith("BAD: seq 3: entry missing")


def test_deleted_last_entry(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _fill(db_url)
    _sql(db_url, "DELETE FROM audit_log WHERE seq = 5")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1
    assert "seq 5:" in out.stderr and "cut short" in out.stderr


def test_inserted_entry(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _fill(db_url)
    _sql(db_url, "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3")
    _sql(db_url, "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100")
    _sql(db_url, "INSERT INTO audit_log (seq, time, actor, action, subject, details, prev_hash, hash) "
                 "SELECT 3, time, actor, action, subject, details, prev_hash, hash FROM audit_log WHERE seq = 2")
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1 and out.stderr.startswith("BAD: seq 3:")


def test_reordered_entries(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
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


def _recompute(entries: list[dict]) -> bool:
    prev = "0" * 64
    for e in entries:
        body = {k: e[k] for k in ("seq", "time", "actor", "action", "subject", "details")}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if e["prev_hash"] != prev or hashlib.sha256((prev + canonical).encode()).hexdigest() != e["hash"]:
            return False
        prev = e["hash"]
    return True


def test_exports_reverify_outside_the_app(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _fill(db_url)
    out = cli("audit", "export", "--format", "json", db=db_url)
    assert out.returncode == 0, out.stderr
    entries = json.loads(out.stdout)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert _recompute(entries)

    target = tmp_path / "audit.csv"
    out = cli("audit", "export", "--format", "csv", "--out", str(target), db=db_url)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    for row in rows:
        row["seq"] = int(row["seq"])  # type: ignore[assignment]
        row["details"] = json.loads(row["details"])  # type: ignore[assignment]
    assert _recompute(rows)  # type: ignore[arg-type]


def test_export_to_unwritable_place_is_a_user_error(cli, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = cli("audit", "export", "--format", "json", "--out", str(tmp_path / "no" / "dir" / "x.json"), db=sqlite_url)
    assert out.returncode == 2
    assert "--out" in out.stderr and "Traceback" not in out.stderr
