"""Recompute the chain and name the first entry that does not match.

A chain on its own proves that no entry was changed, inserted or removed
*behind* its last entry, and the head record (last seq and hash, kept beside
it) that none was cut from or appended after it without the record. It cannot
prove that someone with write access did not rewrite the log from some entry
on and recompute every hash and the head: that needs signed checkpoints kept
outside the database (console.audit.checkpoints), and the result says so.

Each entry's stored details must parse strictly (no duplicate member names,
which two readers could resolve to two different values) and must be exactly
the canonical text of what they parse to: anything else was written by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.audit.chain import CANON_NAMES, GENESIS, canonical, details_text, entry_hash
from console.audit.jcs import JcsError, parse_strict
from console.audit.log import HEAD_SETTING
from console.models import AuditEntry, Setting

LIMITS = ("the chain and its head agree; without signed checkpoints a rewrite from the database's own head "
          "cannot be excluded (audit verify --checkpoints FILE)")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    bad_seq: int | None = None
    problem: str | None = None
    head_seq: int = 0
    """The chain's own last entry (not the head record): what a checkpoint would seal."""
    head_hash: str = GENESIS

    def message(self) -> str:
        if self.ok:
            return f"OK: {self.entries} entries"
        return f"BAD: seq {self.bad_seq}: {self.problem}"


def verify(session: Session) -> VerifyResult:
    expected_seq = 1
    prev = GENESIS
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000)).scalars()
    for entry in rows:
        problem = entry_problem(entry, expected_seq, prev)
        if problem is not None:
            seq = expected_seq if entry.seq > expected_seq else entry.seq
            return _bad(seq, problem, expected_seq - 1, prev)
        prev = entry.hash
        expected_seq += 1
    count = expected_seq - 1
    at_head = head_problem(session.get(Setting, HEAD_SETTING), count, prev)
    if at_head is not None:
        return _bad(at_head[0], at_head[1], count, prev)
    return VerifyResult(ok=True, entries=count, head_seq=count, head_hash=prev)


def entry_problem(entry: AuditEntry, expected_seq: int, prev: str) -> str | None:
    """Why `entry` does not continue a chain at (`expected_seq`, `prev`), or None (sealing checks a stretch)."""
    if entry.seq != expected_seq:
        if entry.seq > expected_seq:
            return f"entry missing (next entry found is seq {entry.seq}): deleted"
        return "sequence out of order"
    if entry.prev_hash != prev:
        return ("prev_hash does not match the hash of the entry before it "
                "(an entry was inserted, deleted or reordered)")
    if entry.canon not in CANON_NAMES:
        return f"unknown canonical form {entry.canon} (edited)"
    try:
        details = parse_strict(entry.details)
    except JcsError as exc:
        return f"details: {exc}: two readers could see two different values (edited)"
    except ValueError:
        return "details are not valid JSON (edited)"
    try:
        canonical_text = details_text(details, entry.canon)
    except JcsError as exc:
        return f"details: {exc} (edited)"
    if canonical_text != entry.details:
        return "details are not stored in their canonical form (edited outside the console)"
    digest = entry_hash(prev, canonical(entry.seq, entry.time, entry.actor, entry.action, entry.subject, details,
                                        entry.canon))
    if digest != entry.hash:
        return "hash does not match the entry's content (time, actor, action, subject or details edited)"
    return None


def head_problem(head: Setting | None, count: int, last_hash: str) -> tuple[int, str] | None:
    """(seq, problem) when the head record and the chain disagree."""
    if head is None:
        return (1, "the head record of the log is missing") if count else None
    head_seq_text, _, head_hash = head.value.partition(":")
    try:
        head_seq = int(head_seq_text)
    except ValueError:
        return max(count, 1), f"the head record of the log is damaged ({json.dumps(head.value)[:80]})"
    if head_seq > count:
        return count + 1, f"entries {count + 1}..{head_seq} missing: the log was cut short (deleted)"
    if head_seq < count:
        return head_seq + 1, (f"entries {head_seq + 1}..{count} follow the recorded head (seq {head_seq}): "
                              "appended without moving the head (inserted)")
    if head_hash != last_hash:
        return count, "last entry differs from the recorded head of the log"
    return None


def _bad(seq: int, problem: str, checked: int, prev: str) -> VerifyResult:
    return VerifyResult(ok=False, entries=checked, bad_seq=seq, problem=problem, head_seq=checked, head_hash=prev)
