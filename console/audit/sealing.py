"""Sealing: sign the log's current head into the checkpoint file, never blessing a broken chain.

Before it signs, a seal checks the chain from the last checkpoint it made
(whose entry must still carry the sealed hash) to the head, and the head
record; with no earlier checkpoint of this key, the whole chain. A rewrite
made since the last checkpoint is thus refused here and named by
`audit verify --checkpoints`. Entries before the last checkpoint are not
re-read (a seal costs what came since, not the whole log): an edit there that
recomputes the chain changes the sealed hash and is refused, one that does not
breaks the chain where `audit verify` names it, and the new checkpoint still
holds the true hash. Sealing only reads the database: an auditor's
SELECT-only role can seal if it holds the signing key.

The caller locks the checkpoint file (checkpoints.locked) before it opens the
read transaction, and keeps it locked until the line is on disk, so concurrent
sealers never see an older log than the last line and the file never goes
backwards. The read is one snapshot (`snapshot`): on PostgreSQL, whose reads
are READ COMMITTED, a writer's commit between reading the entries and the head
record would otherwise look like a cut or an insertion.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from console.audit import checkpoints
from console.audit.chain import now_text
from console.audit.checkpoints import Checkpoint, LockedFile
from console.audit.log import HEAD_SETTING, log_id
from console.audit.signing import SigningKey
from console.audit.verify import entry_problem, head_problem, verify
from console.errors import Failure, UserError
from console.models import AuditEntry, Setting


class SealRefused(Failure):
    """The log cannot be sealed as it is (a broken chain, or it no longer matches a checkpoint)."""


class NothingToSeal(UserError):
    """The log has no entries yet."""


@dataclass(frozen=True)
class Sealed:
    """A seal's outcome: the new checkpoint (None: nothing new since the last one) and where it went."""

    checkpoint: Checkpoint | None
    path: Path
    previous: Checkpoint | None


def snapshot(session: Session) -> None:
    """Make the session's read transaction one consistent snapshot; call it before its first query."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


def seal(session: Session, key: SigningKey, handle: LockedFile, *, only_if_grown: bool = False) -> Sealed:
    """Check the chain and append a checkpoint of its head to the locked checkpoint file.

    `session` is a read transaction opened after `handle` was locked. With
    `only_if_grown` (automatic seals), nothing is written when the head is the
    one the last checkpoint sealed, or when the log is empty.
    """
    snapshot(session)
    path = handle.path
    log = log_id(session)
    if not log:
        raise SealRefused("this database has no audit log id (audit.log_id): open it once with this version "
                          "so its schema is upgraded")
    existing = handle.read()
    foreign = next((cp for cp in existing if cp.log != log), None)
    if foreign is not None:
        raise SealRefused(f"{path} line {foreign.line} holds a checkpoint of another log ({foreign.log[:12]}…, "
                          f"this database's is {log[:12]}…): give each database its own checkpoint file")
    previous = existing[-1] if existing else None
    baseline = previous if previous is not None and previous.signature_ok(key.public) else None
    count, head = _checked_head(session, baseline)
    if count == 0:
        if only_if_grown:
            return Sealed(None, path, previous)
        raise NothingToSeal("the audit log has no entries yet: nothing to seal")
    if only_if_grown and baseline is not None and baseline.seq == count:
        return Sealed(None, path, previous)
    stamp = now_text()
    if previous is not None and stamp < previous.time:
        raise SealRefused(f"this machine's clock ({stamp}) is behind the last checkpoint's time "
                          f"({previous.time}, {path} line {previous.line}): not sealing a checkpoint that "
                          "would go backwards")
    made = checkpoints.make(key, log, count, head, count, stamp)
    handle.append(made)
    return Sealed(Checkpoint(**made.as_dict(), line=len(existing) + 1), path, previous)


def _checked_head(session: Session, baseline: Checkpoint | None) -> tuple[int, str]:
    """(count, hash of the last entry) once the chain checks out; SealRefused otherwise."""
    if baseline is None:
        result = verify(session)
        if not result.ok:
            raise SealRefused(f"the audit chain is broken, not sealing it: {result.message()}")
        return result.head_seq, result.head_hash
    rows = session.execute(select(AuditEntry).where(AuditEntry.seq >= baseline.seq).order_by(AuditEntry.seq)
                           .execution_options(yield_per=2000)).scalars()
    it = iter(rows)
    first = next(it, None)
    if first is None or first.seq != baseline.seq or first.hash != baseline.hash:
        what = "is gone" if first is None or first.seq != baseline.seq else "no longer has the sealed hash"
        raise SealRefused(f"entry seq {baseline.seq} {what} ({baseline.label()} in the checkpoint file): the log "
                          "was rewritten or cut since it was sealed; not sealing it (audit verify --checkpoints "
                          "names what changed)")
    prev, expected = first.hash, first.seq + 1
    for entry in it:
        problem = entry_problem(entry, expected, prev)
        if problem is not None:
            seq = expected if entry.seq > expected else entry.seq
            raise SealRefused(f"the audit chain is broken, not sealing it: BAD: seq {seq}: {problem}")
        prev, expected = entry.hash, expected + 1
    count = expected - 1
    at_head = head_problem(session.get(Setting, HEAD_SETTING), count, prev)
    if at_head is not None:
        raise SealRefused(f"the audit chain is broken, not sealing it: BAD: seq {at_head[0]}: {at_head[1]}")
    return count, prev


def due(path: Path, every: dt.timedelta, now: dt.datetime) -> bool:
    """A periodic seal is due: the file's last checkpoint is older than `every` (or there is none)."""
    try:
        existing = checkpoints.load(path)
    except UserError:
        return True
    if not existing:
        return True
    try:
        last = dt.datetime.strptime(existing[-1].time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return True
    return now - last >= every
