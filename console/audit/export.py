"""Export the log with its hashes so an auditor can re-verify it outside the app.

JSON: a list of entries, `details` as an object. DEL, C1 and bidi characters
are written as `\\uXXXX` escapes, which decode to the same text.

CSV: UTF-8 with a byte-order mark and CRLF line ends, every cell in double
quotes, `details` as canonical JSON text, so spreadsheets open it right. A
cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`,
`@`, tab or CR: an actor or channel named "=HYPERLINK(…)") is written with a
single quote in front (OWASP's rule). To re-verify, read each cell back first:
if it starts with `'` and, after its leading quotes, continues with one of
those characters, drop that one `'` (console.textsafe.restore_cell). A value
that itself starts with quotes then a trigger (`'=x`) was written with one
more quote, so the rule never guesses. `details` starts with `{` and the
hashes are hex, so neither is ever changed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import AuditEntry
from console.textsafe import TextSink, neutralise_cell, safe_json

FORMATS = ("csv", "json")
FIELDS = ("seq", "time", "actor", "action", "subject", "details", "prev_hash", "hash")


def iter_entries(session: Session) -> Iterator[dict[str, Any]]:
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000)).scalars()
    for e in rows:
        yield {
            "seq": e.seq, "time": e.time, "actor": e.actor, "action": e.action, "subject": e.subject,
            "details": json.loads(e.details), "prev_hash": e.prev_hash, "hash": e.hash,
        }


def write_export(session: Session, fmt: str, out: TextSink) -> int:
    """Write every entry; returns how many.

    `out` should be opened with newline="" (the CSV writer puts CRLF itself)
    and encoding="utf-8".
    """
    count = 0
    if fmt == "json":
        out.write("[\n")
        for count, entry in enumerate(iter_entries(session), start=1):
            text = json.dumps(entry, ensure_ascii=False, sort_keys=True)
            out.write(("" if count == 1 else ",\n") + safe_json(text))
        out.write("\n]\n")
        return count
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(FIELDS)
    for entry in iter_entries(session):
        count += 1
        entry["details"] = json.dumps(entry["details"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        writer.writerow([neutralise_cell(v) if isinstance(v, str) else v for v in (entry[f] for f in FIELDS)])
    return count
