"""The audit chain's canonical form is RFC 8785: any language recomputes the hashes of an export.

Checked against two implementations written apart from ours: the `rfc8785` package and a
Node.js verifier (tests/verifiers/verify_export.mjs), on a real database's export holding
floats, non-ASCII text, emoji and member names past U+FFFF.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import rfc8785
from alembic import command
from sqlalchemy import create_engine, text

from console import audit
from console.audit.chain import CANON_LEGACY, GENESIS, canonical, details_text, entry_hash
from console.audit.jcs import JcsError, canonical_json, number_text
from console.storage import open_database
from console.storage.migrate import alembic_config
from tests.conftest import unavailable

if TYPE_CHECKING:
    from tests.conftest import CliRunner

VERIFIER = Path(__file__).parent / "verifiers" / "verify_export.mjs"
NODE = shutil.which("node") or shutil.which("nodejs")

AWKWARD: dict[str, Any] = {
    "elapsed_s": 532.0, "ratio": 0.1, "tiny": 1e-7, "huge": 1e21, "edge": 1e20, "neg": -0.0, "third": 1 / 3,
    "max": 1.7976931348623157e308, "min": 5e-324, "int": 9007199254740991,
    "name": "Zoë Ærøskøbing – 東京", "emoji": "🔥 I'm safe 👍🏽", "controls": "tab\there\nnew\x01\x7f\u2028",
    "\U0001f600": "astral key", "\ue000": "private-use key",  # JCS sorts these the other way round from Python
    "nested": [{"b": 2.50, "a": [True, False, None]}, []],
}


def test_numbers_as_ecmascript_writes_them() -> None:
    rng = random.Random(8785)
    doubles = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20_000)]
    doubles += [float(i) for i in range(-50, 50)] + [10.0 ** e for e in range(-30, 30)]
    for x in doubles:
        if math.isfinite(x):
            assert number_text(x) == rfc8785.dumps(x).decode(), x


def test_values_match_an_independent_implementation() -> None:
    assert canonical_json(AWKWARD) == rfc8785.dumps(AWKWARD).decode("utf-8")
    assert canonical_json({"elapsed_s": 532.0}) == '{"elapsed_s":532}'
    keys = list(json.loads(canonical_json(AWKWARD)))
    assert keys.index("\U0001f600") < keys.index("\ue000")  # UTF-16 order: surrogates (D8xx) before E000


@pytest.mark.parametrize(("value", "where"), [
    ({"x": float("nan")}, "$.x"), ({"x": [1, float("inf")]}, "$.x[1]"), ({"n": 2**53}, "$.n"),
    ({"s": "\ud800"}, "$.s"), ({1: "a"}, "$"), ({"when": {1, 2}}, "$.when"),
])
def test_values_jcs_cannot_hold_are_refused_naming_where(value: Any, where: str) -> None:
    with pytest.raises(JcsError, match=rf"^{re.escape(where)}: "):
        canonical_json(value)


def test_an_entry_jcs_cannot_hold_writes_nothing(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    with db.write() as session:
        audit.append(session, "tester", "test.ok", "first", {})
    with pytest.raises(JcsError), db.write() as session:
        audit.append(session, "tester", "test.bad", "second", {"ratio": float("nan")})
    with db.read() as session:
        result = audit.verify(session)
    assert (result.ok, result.entries) == (True, 1)
    db.dispose()


def _sql(url: str, statement: str, **params: Any) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def test_duplicate_keys_are_refused_at_verify(cli: CliRunner, db_url: str) -> None:
    """The issue's forgery: two readers of {"answer":"I'm safe","answer":"I need help"} see two answers."""
    db = open_database(db_url)
    for answer in ("I'm safe", "I need help", "I'm safe"):
        with db.write() as session:
            audit.append(session, "ann@example.org", "ack.answer", "recipient 7", {"answer": answer})
    db.dispose()
    forged = '{"answer":"I\'m safe","answer":"I need help"}'
    # rehash with the stored text as Python reads it (the last value), as a forger would
    engine = create_engine(db_url)
    with engine.begin() as conn:
        row = conn.execute(text("SELECT time, actor, action, subject, prev_hash FROM audit_log WHERE seq = 2")).one()
        digest = entry_hash(row.prev_hash, canonical(2, row.time, row.actor, row.action, row.subject,
                                                    json.loads(forged)))
        conn.execute(text("UPDATE audit_log SET details = :d, hash = :h WHERE seq = 2"), {"d": forged, "h": digest})
    engine.dispose()
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1
    assert out.stderr.startswith("BAD: seq 2: details: duplicate key 'answer'"), out.stderr


def test_details_not_in_canonical_form_are_caught(cli: CliRunner, sqlite_url: str) -> None:
    """532.0 hashed as Python writes it: another language's verifier would fail here, so ours does first."""
    db = open_database(sqlite_url)
    with db.write() as session:
        audit.append(session, "tester", "test.timing", "run", {"elapsed_s": 1})
    db.dispose()
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        row = conn.execute(text("SELECT time FROM audit_log WHERE seq = 1")).one()
        body = {"seq": 1, "time": row.time, "actor": "tester", "action": "test.timing", "subject": "run",
                "details": {"elapsed_s": 532.0}}
        python_text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        conn.execute(text("UPDATE audit_log SET details = :d, hash = :h"),
                     {"d": '{"elapsed_s":532.0}', "h": entry_hash(GENESIS, python_text)})
        conn.execute(text("UPDATE settings SET value = :v WHERE key = 'audit.head'"),
                     {"v": f"1:{entry_hash(GENESIS, python_text)}"})
    engine.dispose()
    out = cli("audit", "verify", db=sqlite_url)
    assert out.returncode == 1 and out.stderr.startswith("BAD: seq 1: details are not stored in their canonical form")


def test_head_behind_the_entry_count_is_caught_without_checkpoints(cli: CliRunner, db_url: str) -> None:
    """An entry appended with a correct hash, the head record left where it was."""
    db = open_database(db_url)
    for i in range(3):
        with db.write() as session:
            audit.append(session, "tester", "test.action", f"entry {i}", {"i": i})
    db.dispose()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        last = conn.execute(text("SELECT hash FROM audit_log WHERE seq = 3")).scalar_one()
        time = "2026-11-27T10:00:00.000000Z"
        details = {"answer": "I'm safe"}
        digest = entry_hash(last, canonical(4, time, "mallory", "ack.answer", "recipient 9", details))
        conn.execute(text("INSERT INTO audit_log (seq, time, actor, action, subject, details, prev_hash, hash, canon) "
                          "VALUES (4, :t, 'mallory', 'ack.answer', 'recipient 9', :d, :p, :h, 2)"),
                     {"t": time, "d": details_text(details), "p": last, "h": digest})
    engine.dispose()
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 1
    assert out.stderr.startswith("BAD: seq 4: entries 4..4 follow the recorded head (seq 3)"), out.stderr


def _legacy_database(url: str) -> None:
    """A database from before RFC 8785 (schema 0004), its entries hashed the old way (floats as Python writes them)."""
    engine = create_engine(url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        prev = GENESIS
        for seq, details in enumerate(({"elapsed_s": 532.0}, {"note": "Zoë 🔥"}), start=1):
            time = f"2026-11-0{seq}T09:00:00.000000Z"
            digest = entry_hash(prev, canonical(seq, time, "old", "test.old", f"entry {seq}", details, CANON_LEGACY))
            conn.execute(text("INSERT INTO audit_log (seq, time, actor, action, subject, details, prev_hash, hash) "
                              "VALUES (:s, :t, 'old', 'test.old', :subj, :d, :p, :h)"),
                         {"s": seq, "t": time, "subj": f"entry {seq}", "d": details_text(details, CANON_LEGACY),
                          "p": prev, "h": digest})
            prev = digest
        conn.execute(text("INSERT INTO settings (key, value) VALUES ('audit.head', :v)"), {"v": f"2:{prev}"})
    engine.dispose()


def test_entries_written_before_keep_verifying(cli: CliRunner, db_url: str) -> None:
    _legacy_database(db_url)
    db = open_database(db_url)  # upgrades to RFC 8785 from here on
    with db.write() as session:
        audit.append(session, "new", "test.new", "entry 3", {"elapsed_s": 532.0})
    db.dispose()
    out = cli("audit", "verify", db=db_url)
    assert out.returncode == 0 and out.stdout.startswith("OK: 3 entries"), out.stderr
    export = json.loads(cli("audit", "export", "--format", "json", db=db_url).stdout)
    assert [e["canon"] for e in export["entries"]] == ["legacy-1", "legacy-1", "rfc8785"]
    assert export["log_id"] and len(export["log_id"]) == 32


def _fill_awkward(cli: CliRunner, url: str, tmp_path: Path) -> None:
    contacts = tmp_path / "people.csv"
    contacts.write_text("name,email,phone,groups\nZoë Ærø,zoe@example.org,,Leeds\n渡辺 🔥,watanabe@example.org,,all\n",
                        encoding="utf-8")
    assert cli("contacts", "import", str(contacts), db=url).returncode == 0
    db = open_database(url)
    with db.write() as session:
        audit.append(session, "timer 🕐", "test.awkward", "floats, text, emoji", AWKWARD)
        audit.append(session, "tester", "test.numbers", "list", {"values": [532.0, 0.000001, 1e-7, 123e-20, 2.5e+25]})
    db.dispose()


def test_a_real_export_recomputes_with_rfc8785_package(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    _fill_awkward(cli, db_url, tmp_path)
    out = tmp_path / "audit.json"
    assert cli("audit", "export", "--format", "json", "--out", str(out), db=db_url).returncode == 0
    export = json.loads(out.read_text(encoding="utf-8"), parse_int=float)  # every JSON number is a double
    prev = GENESIS
    for e in export["entries"]:
        assert e["canon"] == "rfc8785" and e["prev_hash"] == prev
        body = {k: e[k] for k in ("seq", "time", "actor", "action", "subject", "details")}
        assert hashlib.sha256(prev.encode() + rfc8785.dumps(body)).hexdigest() == e["hash"], e["seq"]
        prev = e["hash"]
    assert export["count"] == len(export["entries"]) == 3 and export["head"] == {"seq": export["count"], "hash": prev}
    assert any(e["details"].get("edge") == 1e20 for e in export["entries"])
    assert any(e["details"].get("elapsed_s") == 532 for e in export["entries"])


def test_a_real_export_recomputes_in_javascript(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    if NODE is None:
        unavailable("node is not installed (tests/setup-and-run.sh installs Debian's nodejs)")
    _fill_awkward(cli, db_url, tmp_path)
    out = tmp_path / "audit.json"
    assert cli("audit", "export", "--format", "json", "--out", str(out), db=db_url).returncode == 0
    run = subprocess.run([str(NODE), str(VERIFIER), str(out)], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout.strip()) == (0, f"OK: {json.loads(out.read_text())['count']} entries, "
                                                       "0 checkpoints"), run.stdout + run.stderr
    # and the same verifier notices one changed float
    data = out.read_text(encoding="utf-8").replace('"elapsed_s": 532', '"elapsed_s": 533')
    (tmp_path / "edited.json").write_text(data, encoding="utf-8")
    run = subprocess.run([str(NODE), str(VERIFIER), str(tmp_path / "edited.json")], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1 and "hash does not match" in run.stdout
