"""Export the log with its hashes and its own proof, so an auditor can re-verify it outside the app.

Both formats start with the proof, before any entry: the log's id, the head
(seq and hash of its last entry) and the entry count as the database had them
when the export was read, and the signed checkpoints (console.audit.checkpoints)
that fall within it. An export cut at the end is then visible from the file
alone (README, "Checking an export"): fewer entries than `count`, or a last
hash that is not `head`; and a tail cut together with a rewritten proof still
leaves a signed checkpoint pointing past the end or at a hash not in the file.

JSON: one object, `{"format", "log_id", "exported_at", "count", "head",
"checkpoints", "entries": [...]}`, each entry with `details` as an object and
`canon` naming its canonical form ("rfc8785", or "legacy-1" for entries written
before RFC 8785). DEL, C1 and bidi characters are written as `\\uXXXX` escapes,
which decode to the same text.

CSV: UTF-8 with a byte-order mark and CRLF line ends, every cell in double
quotes, `details` as the entry's canonical JSON text, so spreadsheets open it
right. The first row after the header is the proof: `seq` is `#proof`, `hash`
the head hash, `details` the proof object (`log_id`, `count`, `head`,
`checkpoints`, `exported_at`) as JSON; every other row is an entry. A cell that
a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, tab or
CR: an actor or channel named "=HYPERLINK(…)") is written with a single quote
in front (OWASP's rule). To re-verify, read each cell back first: if it starts
with `'` and, after its leading quotes, continues with one of those
characters, drop that one `'` (console.textsafe.restore_cell). A value that
itself starts with quotes then a trigger (`'=x`) was written with one more
quote, so the rule never guesses. `details` starts with `{` and the hashes are
hex, so neither is ever changed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.audit.chain import CANON_NAMES, GENESIS, now_text
from console.audit.jcs import json_int
from console.audit.log import log_id
from console.models import AuditEntry
from console.textsafe import TextSink, neutralise_cell, safe_json

FORMATS = ("csv", "json")
FORMAT_NAME = "crisis-console audit export 2"
FIELDS = ("seq", "time", "actor", "action", "subject", "details", "prev_hash", "hash", "canon")
PROOF_SEQ = "#proof"


@dataclass(frozen=True)
class Proof:
    """What the export says about itself, written before its entries."""

    log_id: str
    count: int
    head_hash: str
    exported_at: str
    checkpoints: Sequence[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"format": FORMAT_NAME, "log_id": self.log_id, "exported_at": self.exported_at, "count": self.count,
                "head": {"seq": self.count, "hash": self.head_hash}, "checkpoints": list(self.checkpoints)}


def read_proof(session: Session, checkpoints: Sequence[dict[str, Any]] = ()) -> Proof:
    """The head as of now, and those of `checkpoints` (signed, as dicts) this export covers.

    Entries are then read up to this head only, so an entry committed while the
    export runs (PostgreSQL reads each statement afresh) does not slip in after it.
    """
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    count, head = (last.seq, last.hash) if last else (0, GENESIS)
    mine = log_id(session) or ""
    covered = [c for c in checkpoints if c.get("log") == mine and isinstance(c.get("seq"), int) and c["seq"] <= count]
    return Proof(mine, count, head, now_text(), covered)


def iter_entries(session: Session, up_to: int | None = None) -> Iterator[dict[str, Any]]:
    stmt = select(AuditEntry).order_by(AuditEntry.seq)
    if up_to is not None:
        stmt = stmt.where(AuditEntry.seq <= up_to)
    for e in session.execute(stmt.execution_options(yield_per=2000)).scalars():
        yield {
            "seq": e.seq, "time": e.time, "actor": e.actor, "action": e.action, "subject": e.subject,
            "details": json.loads(e.details, parse_int=json_int), "prev_hash": e.prev_hash, "hash": e.hash,
            "canon": CANON_NAMES.get(e.canon, str(e.canon)), "_details_text": e.details,
        }


def write_export(session: Session, fmt: str, out: TextSink, checkpoints: Sequence[dict[str, Any]] = ()) -> int:
    """Write the proof, then every entry up to its head; returns how many entries.

    `out` should be opened with newline="" (the CSV writer puts CRLF itself)
    and encoding="utf-8".
    """
    proof = read_proof(session, checkpoints)
    entries = iter_entries(session, proof.count)
    count = 0
    if fmt == "json":
        head = json.dumps(proof.as_json(), ensure_ascii=False, indent=1)
        out.write(safe_json(head[: head.rindex("}")].rstrip()) + ',\n "entries": [\n')
        for count, entry in enumerate(entries, start=1):
            del entry["_details_text"]
            text = json.dumps(entry, ensure_ascii=False, sort_keys=True)
            out.write(("" if count == 1 else ",\n") + safe_json(text))
        out.write("\n ]\n}\n")
        return count
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(FIELDS)
    proof_json = {k: v for k, v in proof.as_json().items() if k != "format"}
    writer.writerow([PROOF_SEQ, proof.exported_at, "", "export.proof", FORMAT_NAME,
                     json.dumps(proof_json, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                     "", proof.head_hash, ""])
    for entry in entries:
        count += 1
        entry["details"] = entry.pop("_details_text")  # the stored canonical text, byte for byte
        writer.writerow([neutralise_cell(v) if isinstance(v, str) else v for v in (entry[f] for f in FIELDS)])
    return count
