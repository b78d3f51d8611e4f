"""The hash chain: canonical form of an entry and its hash (DESIGN.md, "Audit log").

hash = sha256(prev_hash + canonical JSON of {seq, time, actor, action, subject, details});
the first entry's prev_hash is 64 zeros. Canonical JSON is RFC 8785 (JCS,
console.audit.jcs), so a verifier in any language recomputes the same text.

Each entry records its form in `audit_log.canon`: CANON_JCS (2) for every
entry written by this version, CANON_LEGACY (1) for entries written before it
(Python's `json.dumps` with sorted keys, no whitespace, UTF-8 without escapes;
it differs from JCS only for floats, integers past 2**53 and member names past
U+FFFF). Old entries keep their form and keep verifying; the export names the
form of each entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from console.audit.jcs import canonical_json

GENESIS = "0" * 64


CANON_LEGACY = 1
CANON_JCS = 2
CANON_NAMES = {CANON_LEGACY: "legacy-1", CANON_JCS: "rfc8785"}
"""How the export names each entry's canonical form."""


def canonical(seq: int, time: str, actor: str, action: str, subject: str, details: Any,
              canon: int = CANON_JCS) -> str:
    if canon == CANON_JCS:
        return _jcs_entry(seq, time, actor, action, subject, canonical_json(details))
    entry = {"seq": seq, "time": time, "actor": actor, "action": action, "subject": subject, "details": details}
    return _legacy(entry)


def _jcs_entry(seq: int, time: str, actor: str, action: str, subject: str, details_jcs: str) -> str:
    """RFC 8785 of the entry around details already in RFC 8785: the member names are ASCII, so
    their order is fixed (action, actor, details, seq, subject, time), and the details are
    canonicalised once for both the hash and the stored text."""
    return (f'{{"action":{canonical_json(action)},"actor":{canonical_json(actor)},"details":{details_jcs},'
            f'"seq":{canonical_json(seq)},"subject":{canonical_json(subject)},"time":{canonical_json(time)}}}')


def entry_hash(prev_hash: str, canonical_json: str) -> str:
    return hashlib.sha256((prev_hash + canonical_json).encode("utf-8")).hexdigest()


def details_text(details: Any, canon: int = CANON_JCS) -> str:
    """How details are stored: the same canonical JSON, so a re-parse hashes identically.

    Raises console.audit.jcs.JcsError for a value RFC 8785 cannot represent
    (the append that carried it fails with its transaction: nothing half-written).
    """
    return canonical_json(details) if canon == CANON_JCS else _legacy(details)


def _legacy(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
        stored = details_text(details)
        digest = entry_hash(prev_hash, _jcs_entry(seq, stamp, actor, action, subject, stored))
        rows.append({"seq": seq, "time": stamp, "actor": actor, "action": action, "subject": subject,
                     "details": stored, "prev_hash": prev_hash, "hash": digest, "canon": CANON_JCS})
        prev_hash = digest
    return rows
