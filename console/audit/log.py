"""Appending to the audit log inside the caller's transaction.

Appends are serialised so the chain stays linear with concurrent writers:
PostgreSQL takes a transaction-scoped advisory lock before reading the tail;
SQLite write transactions already hold the write lock (`BEGIN IMMEDIATE`, see
console.storage.database). The tail read under the lock is cached on the
connection for the rest of that transaction, so a batch of appends costs one
look-up. A head record (last seq and hash) kept beside the chain lets
`verify` notice entries deleted from the end.
"""

from __future__ import annotations

import getpass
import logging
from typing import Any

from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.orm import Session

from console.audit.chain import GENESIS, Entry, chain_rows
from console.models import AuditEntry, Setting

log = logging.getLogger("console.audit")

HEAD_SETTING = "audit.head"
LOG_ID_SETTING = "audit.log_id"
LOCK_KEY = 726_002
_TAIL = "console_audit_tail"


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def append(
    target: Session | Connection, actor: str, action: str, subject: str, details: dict[str, Any] | None = None
) -> int:
    """Append one entry in the current transaction; returns its seq."""
    return append_many(target, [(actor, action, subject, details or {})])


def append_many(target: Session | Connection, entries: list[Entry]) -> int:
    """Append (actor, action, subject, details) entries in order, in one statement; returns the last seq.

    The chain is computed here in Python and written with one executemany, so a
    dispatcher recording a batch of 200 deliveries pays for one insert, not 200.
    """
    conn = target.connection() if isinstance(target, Session) else target
    seq, prev = _tail(conn)
    if not entries:
        return seq
    rows = chain_rows(seq, prev, entries)
    seq, prev = rows[-1]["seq"], rows[-1]["hash"]
    conn.execute(insert(AuditEntry), rows)
    head = f"{seq}:{prev}"
    if rows[0]["seq"] == 1:
        conn.execute(insert(Setting), {"key": HEAD_SETTING, "value": head})
    else:
        conn.execute(update(Setting).where(Setting.key == HEAD_SETTING).values(value=head))
    conn.info[_TAIL] = (conn.get_transaction(), seq, prev)
    return seq


def log_id(session: Session) -> str | None:
    """This database's log id (migration 0005), which signed checkpoints name; None if missing."""
    return session.scalar(select(Setting.value).where(Setting.key == LOG_ID_SETTING))


def _tail(conn: Connection) -> tuple[int, str]:
    cached = conn.info.get(_TAIL)
    if cached is not None and cached[0] is conn.get_transaction():
        return cached[1], cached[2]
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    row = conn.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)
