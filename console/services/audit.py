"""Audit use cases: search the log a page at a time, verify its hash chain, export it."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from console import audit as domain
from console.audit import FORMATS, VerifyResult
from console.audit.search import PAGE, AuditFilter, AuditRow, actions, search
from console.storage import Database
from console.textsafe import TextSink

__all__ = ["FORMATS", "PAGE", "AuditFilter", "AuditPage", "AuditRow", "VerifyResult", "export_file",
           "export_to", "search_page", "verify"]


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first; `actions` (the filter's choices) only with a first page."""

    rows: list[AuditRow]
    actions: list[str]


def search_page(db: Database, flt: AuditFilter, before_seq: int | None = None, limit: int = PAGE) -> AuditPage:
    """Entries matching `flt` with seq < before_seq (None: the newest page)."""
    with db.read() as session:
        rows = search(session, flt, before_seq=before_seq, limit=limit)
        return AuditPage(rows, actions(session) if before_seq is None else [])


def verify(db: Database) -> VerifyResult:
    """Recompute the hash chain from the first entry; the result names the first bad seq."""
    with db.read() as session:
        return domain.verify(session)


def export_to(db: Database, fmt: str, out: TextSink) -> int:
    """Write every entry with its hashes to an open text sink (newline=""); returns how many."""
    with db.read() as session:
        return domain.write_export(session, fmt, out)


def export_file(db: Database, fmt: str, path: Path) -> int:
    """Export to a temporary file beside `path`, then rename: never a half-written export.

    An OSError (no such folder, no permission, disk full) propagates for the face to word.
    """
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            count = export_to(db, fmt, out)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count
