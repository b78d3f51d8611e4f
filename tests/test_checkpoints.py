"""Signed checkpoints: every rewrite the issue lists is caught and named, and so is a tampered file.

Each rewrite is made the way an insider with write access to the database
would make it: plain SQL on the real database, the chain recomputed with the
README's recipe and the head record rewritten, so the chain alone verifies
"OK". Only the checkpoints, signed outside the database, tell.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from console import audit
from console.audit import checkpoints, proof
from console.audit.chain import GENESIS, canonical, details_text, entry_hash
from console.audit.signing import SigningKey
from console.services import audit as audit_service
from console.storage import Database, open_database

if TYPE_CHECKING:
    from tests.conftest import CliRunner


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.dispose()


def _fill(db: Database, first: int, last: int) -> None:
    """Entries first..last; seq 19 is a person's answer "I need help"."""
    for seq in range(first, last + 1):
        details = {"answer": "I need help", "broadcast": 1} if seq == 19 else {"i": seq, "note": "ünïcode ✓"}
        with db.write() as session:
            assert audit.append(session, "tester", "ack.answer" if seq == 19 else "test.action",
                                f"subject {seq}", details) == seq


def _seal(db: Database) -> checkpoints.Checkpoint:
    report = audit_service.seal(db)
    assert report.checkpoint is not None
    return report.checkpoint


def _sql(db_url: str, *statements: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def _recompute_from(db_url: str, first: int) -> None:
    """The README's recipe, applied by an insider: rehash every entry from `first` on, then the head."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        prev = conn.execute(text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": first - 1}).scalar() or GENESIS
        rows = conn.execute(text("SELECT seq, time, actor, action, subject, details, canon FROM audit_log "
                                 "WHERE seq >= :s ORDER BY seq"), {"s": first}).all()
        for r in rows:
            digest = entry_hash(prev, canonical(r.seq, r.time, r.actor, r.action, r.subject, json.loads(r.details),
                                                r.canon))
            conn.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": digest, "s": r.seq})
            prev = digest
        last = conn.execute(text("SELECT MAX(seq) FROM audit_log")).scalar() or 0
        conn.execute(text("UPDATE settings SET value = :v WHERE key = 'audit.head'"), {"v": f"{last}:{prev}"})
    engine.dispose()


def _verdict(db: Database, path: Path, key: str | None = None) -> proof.CheckpointVerdict:
    return audit_service.verify_with_checkpoints(db, path, key)


def _chain_alone_says_ok(db: Database, entries: int) -> None:
    result = audit_service.verify(db)
    assert result.ok and result.entries == entries, result.message()


# --- the rewrites of the issue ------------------------------------------------------

def test_delete_last_five_and_rewrite_head(db: Database, db_url: str) -> None:
    _fill(db, 1, 20)
    _seal(db)
    _fill(db, 21, 30)
    sealed = _seal(db)
    _sql(db_url, "DELETE FROM audit_log WHERE seq > 25")
    with db.read() as session:
        hash25 = session.execute(text("SELECT hash FROM audit_log WHERE seq = 25")).scalar()
    _sql(db_url, f"UPDATE settings SET value = '25:{hash25}' WHERE key = 'audit.head'")
    _chain_alone_says_ok(db, 25)

    verdict = _verdict(db, sealed_path(db))
    assert not verdict.ok
    (problem,) = verdict.problems
    assert (problem.kind, problem.checkpoint, problem.line, problem.seq) == (proof.CUT, 2, 2, 26)
    first = verdict.message().splitlines()[0]
    assert first.startswith("BAD: seq 26..30 gone: the chain shrank to 25 entries")
    assert f"checkpoint #2 (line 2, {sealed.time}, seq 30)" in first and "after seq 20" in first
    assert verdict.matched == 1 and verdict.latest is not None and verdict.latest.seq == 20


def test_edit_seq_19_recompute_the_chain_and_rewrite_head(db: Database, db_url: str) -> None:
    _fill(db, 1, 18)
    _seal(db)
    _fill(db, 19, 30)
    sealed = _seal(db)
    safe = details_text({"answer": "I'm safe", "broadcast": 1}).replace("'", "''")
    _sql(db_url, f"UPDATE audit_log SET details = '{safe}' WHERE seq = 19")
    _recompute_from(db_url, 19)
    _chain_alone_says_ok(db, 30)

    verdict = _verdict(db, sealed_path(db))
    (problem,) = verdict.problems
    assert (problem.kind, problem.checkpoint, problem.seq) == (proof.REWRITTEN, 2, 19)
    first = verdict.message().splitlines()[0]
    assert first.startswith("BAD: seq 19..30 rewritten: entry 30 no longer has the hash "
                            f"checkpoint #2 (line 2, {sealed.time}, seq 30) sealed")
    assert "the last matching checkpoint is at seq 18" in first


def test_delete_renumber_recompute_and_rewrite(db: Database, db_url: str) -> None:
    _fill(db, 1, 10)
    _seal(db)
    _fill(db, 11, 30)
    _seal(db)
    _sql(db_url, "DELETE FROM audit_log WHERE seq = 15",
         "UPDATE audit_log SET seq = seq + 1000 WHERE seq > 15",
         "UPDATE audit_log SET seq = seq - 1001 WHERE seq > 1000")
    _recompute_from(db_url, 15)
    _chain_alone_says_ok(db, 29)

    verdict = _verdict(db, sealed_path(db))
    (problem,) = verdict.problems
    assert (problem.kind, problem.checkpoint) == (proof.CUT, 2)
    first = verdict.message().splitlines()[0]
    assert first.startswith("BAD: seq 30 gone: the chain shrank to 29 entries") and "after seq 10" in first


def test_delete_every_entry_and_the_head(db: Database, db_url: str) -> None:
    _fill(db, 1, 12)
    sealed = _seal(db)
    _sql(db_url, "DELETE FROM audit_log", "DELETE FROM settings WHERE key = 'audit.head'")
    _chain_alone_says_ok(db, 0)

    verdict = _verdict(db, sealed_path(db))
    (problem,) = verdict.problems
    assert (problem.kind, problem.checkpoint, problem.seq) == (proof.CUT, 1, 1)
    assert verdict.message().splitlines()[0] == (
        f"BAD: seq 1..12 gone: the log is empty, but checkpoint #1 (line 1, {sealed.time}, seq 12) sealed 12 "
        "entries: every entry and the head were deleted")


def test_an_untouched_log_verifies_and_names_what_is_not_sealed_yet(db: Database) -> None:
    _fill(db, 1, 5)
    sealed = _seal(db)
    _fill(db, 6, 7)
    verdict = _verdict(db, sealed_path(db))
    assert verdict.ok, verdict.message()
    lines = verdict.message().splitlines()
    assert lines[0] == "OK: 7 entries"
    assert f"latest matching: checkpoint #1 (line 1, {sealed.time}, seq 5)" in lines
    assert "entries 6..7 are newer than the latest checkpoint (not sealed yet)" in lines


# --- sealing refuses to bless a broken or rewritten log -----------------------------

def test_seal_refuses_a_chain_rewritten_since_the_last_checkpoint(db: Database, db_url: str) -> None:
    from console.audit.sealing import SealRefused

    _fill(db, 1, 20)
    _seal(db)
    _sql(db_url, "UPDATE audit_log SET actor = 'someone' WHERE seq = 4")
    _recompute_from(db_url, 4)
    with pytest.raises(SealRefused, match=r"entry seq 20 no longer has the sealed hash \(checkpoint #1 \(line 1"):
        _seal(db)
    assert len(checkpoints.load(sealed_path(db))) == 1


def test_seal_refuses_entries_appended_behind_the_head(db: Database, db_url: str) -> None:
    from console.audit.sealing import SealRefused

    _fill(db, 1, 6)
    _seal(db)
    _fill(db, 7, 8)
    _sql(db_url, "UPDATE settings SET value = (SELECT '7:' || hash FROM audit_log WHERE seq = 7) "
                 "WHERE key = 'audit.head'")
    with pytest.raises(SealRefused, match="seq 8: entries 8..8 follow the recorded head"):
        _seal(db)


# --- the checkpoint file's own tampering --------------------------------------------

def sealed_path(db: Database) -> Path:
    from console.broadcast.auditseal import checkpoint_path

    with db.read() as session:
        return checkpoint_path(session)


def _rewrite_lines(path: Path, edit: dict[int, dict[str, object]] | None = None,
                   order: list[int] | None = None) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    data = [json.loads(line) for line in lines]
    for index, changes in (edit or {}).items():
        data[index].update(changes)
    if order is not None:
        data = [data[i] for i in order]
    path.write_text("".join(json.dumps(d) + "\n" for d in data), encoding="utf-8")


def test_an_altered_checkpoint_fails_its_signature(db: Database, db_url: str) -> None:
    _fill(db, 1, 30)
    _seal(db)
    path = sealed_path(db)
    _sql(db_url, "DELETE FROM audit_log WHERE seq > 25")
    _recompute_from(db_url, 26)  # only the head moves
    with db.read() as session:  # the insider also "fixes" the checkpoint to the shorter log
        hash25 = session.execute(text("SELECT hash FROM audit_log WHERE seq = 25")).scalar()
    _rewrite_lines(path, {0: {"seq": 25, "count": 25, "hash": hash25}})
    verdict = _verdict(db, path)
    (problem,) = verdict.problems
    assert (problem.kind, problem.line) == (proof.SIGNATURE, 1)
    assert "checkpoint #1 (line 1" in verdict.message() and "signature does not verify" in verdict.message()


def test_a_checkpoint_of_another_log_is_named(db: Database, tmp_path: Path) -> None:
    other = open_database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        _fill(other, 1, 3)
        foreign = sealed_path(other)
        _seal(other)
    finally:
        other.dispose()
    _fill(db, 1, 3)
    verdict = _verdict(db, foreign)
    (problem,) = verdict.problems
    assert problem.kind == proof.FOREIGN and "a checkpoint of another log" in problem.text
    assert verdict.matched == 0


def test_checkpoints_going_backwards_are_named(db: Database) -> None:
    _fill(db, 1, 5)
    _seal(db)
    _fill(db, 6, 9)
    _seal(db)
    path = sealed_path(db)
    _rewrite_lines(path, order=[1, 0])
    verdict = _verdict(db, path)
    (problem,) = verdict.problems
    assert (problem.kind, problem.checkpoint, problem.line) == (proof.BACKWARDS, 2, 2)
    assert "goes backwards after checkpoint #1 (line 1" in problem.text


def test_a_checkpoint_signed_by_another_key_is_refused(db: Database, tmp_path: Path) -> None:
    _fill(db, 1, 4)
    _seal(db)
    stranger = SigningKey.generate()
    verdict = _verdict(db, sealed_path(db), stranger.public.text)
    assert [p.kind for p in verdict.problems] == [proof.OTHER_KEY]
    assert f"not {stranger.public.fingerprint}" in verdict.problems[0].text


def test_a_forged_file_with_its_own_key_fails_against_the_pinned_key(db: Database, db_url: str) -> None:
    """An insider rewrites the log and signs a fresh file with a key of their own."""
    _fill(db, 1, 10)
    real = _seal(db)
    _sql(db_url, "DELETE FROM audit_log WHERE seq > 8")
    _recompute_from(db_url, 9)
    forger = SigningKey.generate()
    with db.read() as session:
        row = session.execute(text("SELECT hash FROM audit_log WHERE seq = 8")).one()
    forged = checkpoints.make(forger, real.log, 8, row.hash, 8, real.time)
    path = sealed_path(db)
    path.write_text(forged.line_text() + "\n", encoding="utf-8")
    pinned = _verdict(db, path, real.key)
    assert [p.kind for p in pinned.problems] == [proof.OTHER_KEY]


# --- the command line ---------------------------------------------------------------

def test_cli_seal_public_key_and_verify(cli: CliRunner, db: Database, db_url: str, tmp_path: Path) -> None:
    _fill(db, 1, 20)
    sealed = cli("audit", "seal", "--json", db=db_url)
    assert sealed.returncode == 0, sealed.stderr
    shown = json.loads(sealed.stdout)
    assert (shown["seq"], shown["count"], shown["posted"], shown["channel"]) == (20, 20, False, None)
    (line,) = checkpoints.load(Path(shown["file"]))
    assert line.signature_ok() and line.hash == shown["hash"]
    key = cli("audit", "public-key", "--json", db=db_url)
    assert key.returncode == 0, key.stderr
    info = json.loads(key.stdout)
    assert info["public_key"] == line.key and info["fingerprint"].startswith("SHA256:")
    pub_file = tmp_path / "auditors.pub"
    pub_file.write_text(cli("audit", "public-key", db=db_url).stdout, encoding="utf-8")

    ok = cli("audit", "verify", "--checkpoints", shown["file"], "--public-key", str(pub_file), db=db_url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0] == "OK: 20 entries"
    assert f"key {info['fingerprint']} (given with --public-key)" in ok.stdout

    _sql(db_url, "DELETE FROM audit_log", "DELETE FROM settings WHERE key = 'audit.head'")
    plain = cli("audit", "verify", db=db_url)
    assert plain.returncode == 0 and plain.stdout.startswith("OK: 0 entries")
    caught = cli("audit", "verify", "--checkpoints", shown["file"], "--public-key", info["public_key"], db=db_url)
    assert caught.returncode == 1
    assert caught.stderr.startswith("BAD: seq 1..20 gone: the log is empty, but checkpoint #1 (line 1")


def test_cli_names_a_damaged_checkpoint_file(cli: CliRunner, sqlite_url: str, tmp_path: Path) -> None:
    db = open_database(sqlite_url)
    try:
        _fill(db, 1, 2)
    finally:
        db.dispose()
    path = tmp_path / "checkpoints.jsonl"
    path.write_text('{"log":"x"}\n', encoding="utf-8")
    out = cli("audit", "verify", "--checkpoints", path, db=sqlite_url)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().endswith(f"{path} line 1: not a checkpoint (missing seq, hash, count, time, key, sig)")
    bad_key = cli("audit", "verify", "--checkpoints", path, "--public-key", "ed25519:nope", db=sqlite_url)
    assert bad_key.returncode == 2 and "--public-key" in bad_key.stderr and "Traceback" not in bad_key.stderr
    missing = cli("audit", "verify", "--checkpoints", tmp_path / "none.jsonl", db=sqlite_url)
    assert missing.returncode == 2 and "no such checkpoint file" in missing.stderr


def test_a_checkpoint_verifies_with_openssl_and_an_independent_rfc8785(db: Database, tmp_path: Path) -> None:
    """The README's procedure for checking one line without this program: RFC 8785 of every member but
    `sig` (the `rfc8785` package), the Ed25519 signature checked by OpenSSL against the pinned key."""
    import base64
    import shutil
    import subprocess

    import rfc8785

    from tests.conftest import unavailable

    if shutil.which("openssl") is None:
        unavailable("openssl is not installed")
    _fill(db, 1, 3)
    line = sealed_path_line(db)
    body = {k: v for k, v in json.loads(line).items() if k != "sig"}
    (tmp_path / "body").write_bytes(rfc8785.dumps(body))
    (tmp_path / "sig").write_bytes(base64.b64decode(json.loads(line)["sig"]))
    raw = base64.b64decode(audit_service.public_key().text.removeprefix("ed25519:"))
    spki = bytes.fromhex("302a300506032b6570032100") + raw  # SubjectPublicKeyInfo of an Ed25519 key
    (tmp_path / "pub.der").write_bytes(spki)
    args = ["openssl", "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", str(tmp_path / "pub.der"),
            "-rawin", "-in", str(tmp_path / "body"), "-sigfile", str(tmp_path / "sig")]
    good = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "Signature Verified Successfully" in good.stdout, good.stderr
    (tmp_path / "body").write_bytes(rfc8785.dumps({**body, "count": body["count"] - 1}))
    forged = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert forged.returncode != 0


def sealed_path_line(db: Database) -> str:
    _seal(db)
    return sealed_path(db).read_text(encoding="utf-8").splitlines()[-1]
