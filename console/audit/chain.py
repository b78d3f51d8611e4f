"""The hash chain: canonical form of an entry and its hash (DESIGN.md, "Audit log").

hash = sha256(prev_hash + canonical JSON of {seq, time, actor, action, subject, details});
the first entry's prev_hash is 64 zeros. Canonical JSON: keys sorted, no
whitespace (separators "," and ":"), UTF-8 without escaping. An auditor can
recompute this from `audit export` with any JSON library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

GENESIS = "0" * 64


def canonical(seq: int, time: str, actor: str, action: str, subject: str, details: Any) -> str:
    entry = {"seq": seq, "time": time, "actor": actor, "action": action, "subject": subject, "details": details}
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, canonical_json: str) -> str:
    return hashlib.sha256((prev_hash + canonical_json).encode("utf-8")).hexdigest()


def details_text(details: dict[str, Any]) -> str:
    """How details are stored: the same canonical JSON, so a re-parse hashes identically."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Entry = tuple[str, str, str, dict[str, Any]]
"""(actor, action, subject, details) of one entry to append."""


def chain_rows(seq: int, prev_hash: str, entries: Sequence[Entry], time: str | None = None) -> list[dict[str, Any]]:
    """The audit_log rows that continue a chain ending at (`seq`, `prev_hash`), in order.

    Each row carries its own time, or `time` for all (entries committed together).
    """
    rows = []
    for actor, action, subject, details in entries:
        seq += 1
        stamp = time or now_text()
        digest = entry_hash(prev_hash, canonical(seq, stamp, actor, action, subject, details))
        rows.append({"seq": seq, "time": stamp, "actor": actor, "action": action, "subject": subject,
                     "details": details_text(details), "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    return rows
