"""Appending a batch of audit entries on the writer's raw DBAPI connection.

`console.audit.append` builds its INSERT and UPDATE through SQLAlchemy per
call (about 0.4 ms each); at a thousand answers a second that is the whole
CPU budget. This appends a batch with one executemany INSERT and one head
update, following exactly the protocol of `console.audit.log.append`: on
PostgreSQL the same transaction-scoped advisory lock is taken before the tail
is read (SQLite's `BEGIN IMMEDIATE` already holds the write lock), the chain
primitives are those of `console.audit.chain`, and the head record is kept the
same way, so `audit verify` sees one chain whoever appended.

The chain rows come from `console.audit.chain.chain_rows`, as for `console.audit.log`;
only the statements are written out here, for the raw connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from console.acks.rawdb import RawDialect
from console.audit.chain import GENESIS, Entry, chain_rows, now_text
from console.audit.log import HEAD_SETTING, LOCK_KEY

_LOCK = "SELECT pg_advisory_xact_lock(:k)"
_TAIL = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
_INSERT = ("INSERT INTO audit_log (seq, time, actor, action, subject, details, prev_hash, hash, canon) "
           "VALUES (:seq, :time, :actor, :action, :subject, :details, :prev_hash, :hash, :canon)")
_HEAD_UPDATE = 'UPDATE settings SET value = :v WHERE "key" = :k'
_HEAD_INSERT = 'INSERT INTO settings ("key", value) VALUES (:k, :v)'


def append_many(cursor: Any, raw: RawDialect, entries: Sequence[Entry]) -> list[int]:
    """Append `entries` in order in the cursor's open write transaction; returns their seqs.

    All entries of a batch carry the same time: they commit together.
    """
    if not entries:
        return []
    if raw.postgresql:
        cursor.execute(raw.sql(_LOCK), {"k": LOCK_KEY})
        cursor.fetchall()
    cursor.execute(_TAIL)
    tail = cursor.fetchone()
    seq, prev = (int(tail[0]), str(tail[1])) if tail else (0, GENESIS)
    first = seq + 1
    rows = chain_rows(seq, prev, entries, time=now_text())
    seq, prev = rows[-1]["seq"], rows[-1]["hash"]
    cursor.executemany(raw.sql(_INSERT), rows)
    head = {"k": HEAD_SETTING, "v": f"{seq}:{prev}"}
    cursor.execute(raw.sql(_HEAD_INSERT if first == 1 else _HEAD_UPDATE), head)
    return list(range(first, seq + 1))
