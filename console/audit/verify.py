"""Recompute the chain and name the first entry that does not match."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.audit.chain import GENESIS, canonical, entry_hash
from console.audit.log import HEAD_SETTING
from console.models import AuditEntry, Setting


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    bad_seq: int | None = None
    problem: str | None = None

    def message(self) -> str:
        if self.ok:
            return f"OK: {self.entries} entries"
        return f"BAD: seq {self.bad_seq}: {self.problem}"


def verify(session: Session) -> VerifyResult:
    expected_seq = 1
    prev = GENESIS
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000)).scalars()
    for entry in rows:
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                return _bad(expected_seq, f"entry missing (next entry found is seq {entry.seq}): deleted", expected_seq)
            return _bad(entry.seq, "sequence out of order", expected_seq)
        if entry.prev_hash != prev:
            return _bad(entry.seq, "prev_hash does not match the hash of the entry before it "
                        "(an entry was inserted, deleted or reordered)", expected_seq)
        try:
            details = json.loads(entry.details)
        except ValueError:
            return _bad(entry.seq, "details are not valid JSON (edited)", expected_seq)
        digest = entry_hash(prev, canonical(entry.seq, entry.time, entry.actor, entry.action, entry.subject, details))
        if digest != entry.hash:
            return _bad(entry.seq, "hash does not match the entry's content "
                        "(time, actor, action, subject or details edited)", expected_seq)
        prev = entry.hash
        expected_seq += 1
    count = expected_seq - 1
    head = session.get(Setting, HEAD_SETTING)
    if head is not None:
        head_seq, _, head_hash = head.value.partition(":")
        if int(head_seq) > count:
            return _bad(count + 1, f"entries {count + 1}..{head_seq} missing: the log was cut short (deleted)", count)
        if int(head_seq) == count and head_hash != prev:
            return _bad(count, "last entry differs from the recorded head of the log", count)
    elif count:
        return _bad(1, "the head record of the log is missing", count)
    return VerifyResult(ok=True, entries=count)


def _bad(seq: int, problem: str, checked: int) -> VerifyResult:
    return VerifyResult(ok=False, entries=checked, bad_seq=seq, problem=problem)
