"""Check an audit export from the file alone (README, "Checking an export").

The procedure, which any auditor can follow with any language:

1. entries run seq 1, 2, … with no gap; each `prev_hash` is the hash before it
   (64 zeros for the first) and each `hash` is sha256(prev_hash + canonical JSON
   of {seq, time, actor, action, subject, details}), canonical JSON being RFC 8785
   for entries marked `rfc8785` (numbers read as doubles);
2. the file holds `count` entries and its last hash is `head.hash`: otherwise
   entries were cut from its end;
3. every checkpoint's signature holds under the public key the auditor keeps
   (`audit public-key`), it names this export's `log_id`, and its `seq` is an
   entry in the file with exactly its `hash`: so a tail cut together with a
   rewritten `count`/`head` still shows, back to the last checkpoint.

Entries after the last checkpoint are vouched for only by the export's own
head: the result says how many.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.audit.chain import CANON_NAMES, GENESIS, canonical, entry_hash
from console.audit.export import PROOF_SEQ
from console.audit.jcs import JcsError, json_int, parse_strict
from console.audit.signing import PublicKey
from console.errors import UserError
from console.textsafe import restore_cell

_CANON_BY_NAME = {name: canon for canon, name in CANON_NAMES.items()}


class ExportFileError(UserError):
    """The file is not an audit export this version can read; names the file and what is wrong."""


@dataclass(frozen=True)
class ExportCheck:
    entries: int
    checkpoints: int
    problems: list[str] = field(default_factory=list)
    unsealed: int = 0
    """Entries after the last checkpoint: vouched for by the file's own head only."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def message(self) -> str:
        if self.problems:
            return "BAD: " + self.problems[0]
        tail = f"; {self.unsealed} entries after the last checkpoint rest on the export's own head" \
            if self.unsealed else ""
        return f"OK: {self.entries} entries, {self.checkpoints} checkpoints{tail}"


def check_export(path: Path, public_key: PublicKey | None) -> ExportCheck:
    """Check `path` (JSON or CSV export); `public_key` None: trust the key each checkpoint names."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExportFileError(f"{path}: cannot read: {exc.strerror}") from None
    proof, entries = _read(path, data)
    problems = _chain_problems(entries)
    count, head = proof.get("count"), proof.get("head") or {}
    last_hash = entries[-1]["hash"] if entries else GENESIS
    if count != len(entries):
        problems.append(f"the export says {count} entries and holds {len(entries)}: entries were cut from its end")
    elif head.get("seq") != count or head.get("hash") != last_hash:
        problems.append("the last entry is not the head the export names: entries were cut or changed at its end")
    cps = proof.get("checkpoints") or []
    problems += _checkpoint_problems(cps, proof.get("log_id"), entries, public_key)
    last_sealed = max((c.get("seq", 0) for c in cps if isinstance(c.get("seq"), int)), default=0)
    return ExportCheck(len(entries), len(cps), problems, max(0, len(entries) - last_sealed))


def _read(path: Path, data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if data.startswith(b"\xef\xbb\xbf"):
        return _read_csv(path, data.decode("utf-8-sig"))
    try:
        export = json.loads(data.decode("utf-8"), parse_int=json_int)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ExportFileError(f"{path}: not a JSON or CSV audit export ({exc})") from None
    if not isinstance(export, dict) or not isinstance(export.get("entries"), list):
        raise ExportFileError(f"{path}: no proof in it (an export from before checkpoints, or not an export)")
    return export, export["entries"]


def _read_csv(path: Path, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows or rows[0].get("seq") != PROOF_SEQ:
        raise ExportFileError(f"{path}: line 2 is not the {PROOF_SEQ} row (an export from before checkpoints?)")
    where = f"the {PROOF_SEQ} row"
    try:
        proof = json.loads(rows[0]["details"], parse_int=json_int)
        entries: list[dict[str, Any]] = []
        for row in rows[1:]:
            where = f"the row after seq {entries[-1]['seq']}" if entries else "the first entry row"
            cells = {k: restore_cell(v) for k, v in row.items()}
            entries.append({**cells, "seq": int(cells["seq"]), "details": parse_strict(cells["details"])})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ExportFileError(f"{path}: {where}: unreadable ({exc})") from None
    return proof, entries


def _chain_problems(entries: list[dict[str, Any]]) -> list[str]:
    prev = GENESIS
    for expected, e in enumerate(entries, start=1):
        seq = e.get("seq")
        if seq != expected:
            return [f"entry {expected} has seq {seq}: an entry was removed, added or moved"]
        if e.get("prev_hash") != prev:
            return [f"seq {seq}: prev_hash does not link to the entry before it"]
        canon = _CANON_BY_NAME.get(str(e.get("canon")))
        if canon is None:
            return [f"seq {seq}: unknown canonical form {e.get('canon')!r}"]
        try:
            text = canonical(seq, e["time"], e["actor"], e["action"], e["subject"], e["details"], canon)
        except (JcsError, KeyError) as exc:
            return [f"seq {seq}: cannot be recomputed ({exc})"]
        if entry_hash(prev, text) != e.get("hash"):
            return [f"seq {seq}: hash does not match its content"]
        prev = e["hash"]
    return []


def _checkpoint_problems(cps: list[dict[str, Any]], log: Any, entries: list[dict[str, Any]],
                         public_key: PublicKey | None) -> list[str]:
    from console.audit.checkpoints import Checkpoint

    problems = []
    for n, c in enumerate(cps, start=1):
        try:
            cp = Checkpoint(**{k: c[k] for k in ("log", "seq", "hash", "count", "time", "key", "sig")})
        except (KeyError, TypeError):
            problems.append(f"checkpoint #{n} in the export is incomplete")
            continue
        where = f"checkpoint #{n} ({cp.time}, seq {cp.seq})"
        if not cp.signature_ok(public_key):
            problems.append(f"{where}: its signature does not hold"
                            + (" under the given public key" if public_key else ""))
        elif cp.log != log:
            problems.append(f"{where} is for another log ({cp.log}, the export's is {log})")
        elif cp.seq > len(entries):
            problems.append(f"{where} seals seq {cp.seq} but the export ends at {len(entries)}: "
                            "entries were cut from its end")
        elif entries[cp.seq - 1].get("hash") != cp.hash:
            problems.append(f"{where}: entry seq {cp.seq} no longer has the sealed hash: rewritten at or before it")
    return problems
