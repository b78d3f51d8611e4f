"""Export the log with its hashes so an auditor can re-verify it outside the app."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import AuditEntry

FORMATS = ("csv", "json")
FIELDS = ("seq", "time", "actor", "action", "subject", "details", "prev_hash", "hash")


def iter_entries(session: Session) -> Iterator[dict[str, Any]]:
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000)).scalars()
    for e in rows:
        yield {
            "seq": e.seq, "time": e.time, "actor": e.actor, "action": e.action, "subject": e.subject,
            "details": json.loads(e.details), "prev_hash": e.prev_hash, "hash": e.hash,
        }


def write_export(session: Session, fmt: str, out: IO[str]) -> int:
    """Write every entry; returns how many. CSV keeps details as canonical JSON text."""
    count = 0
    if fmt == "json":
        out.write("[\n")
        for count, entry in enumerate(iter_entries(session), start=1):
            out.write(("" if count == 1 else ",\n") + json.dumps(entry, ensure_ascii=False, sort_keys=True))
        out.write("\n]\n")
        return count
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for count, entry in enumerate(iter_entries(session), start=1):
        entry["details"] = json.dumps(entry["details"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        writer.writerow(entry)
    return count
