"""The log checked against signed checkpoints: what a rewrite from the head cannot hide.

The chain alone (console.audit.verify) cannot tell a log rewritten from some
entry on, with every hash and the head recomputed, from an honest one. Each
checkpoint can: its entry must still be on the chain with the hash it sealed,
and the log must still hold at least as many entries as it counted.

Every problem names the checkpoint (#n in file order, its line and time) and
the entries concerned. A checkpoint only holds the hash of one entry, so a
changed entry is placed between the last checkpoint whose entry still matches
and the first whose entry does not ("seq 19..25"): the more often the log is
sealed (after each broadcast, each closed incident, daily) the narrower that is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.audit.checkpoints import Checkpoint
from console.audit.log import log_id
from console.audit.signing import AuditKeyError, PublicKey
from console.audit.verify import VerifyResult, verify
from console.models import AuditEntry

# Kinds of problem, for a face or a test to tell apart.
REWRITTEN = "rewritten"
CUT = "cut"
SIGNATURE = "signature"
OTHER_KEY = "other-key"
FOREIGN = "foreign"
BACKWARDS = "backwards"
EMPTY = "empty"


@dataclass(frozen=True)
class CheckpointProblem:
    kind: str
    text: str
    checkpoint: int | None = None
    """Its number in file order (1-based), None for a problem of the file as a whole."""
    line: int | None = None
    seq: int | None = None
    """The first entry concerned, when there is one."""


@dataclass(frozen=True)
class CheckpointVerdict:
    """The chain's own verdict plus what the checkpoints prove about it."""

    chain: VerifyResult
    checkpoints: int
    matched: int
    """Checkpoints whose entry is still on the chain with the sealed hash."""
    latest: Checkpoint | None
    """The latest checkpoint that matched."""
    key_fingerprint: str | None
    key_source: str
    problems: tuple[CheckpointProblem, ...] = field(default=())
    log_entries: int = 0

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems

    def message(self) -> str:
        """First line "OK: N entries" or "BAD: …" (the first problem); then one line per finding."""
        lines: list[str] = []
        if not self.chain.ok:
            lines.append(self.chain.message())
        lines.extend(f"BAD: {p.text}" for p in self.problems)
        if not lines:
            lines.append(self.chain.message())
        key = f"{self.key_fingerprint} ({self.key_source})" if self.key_fingerprint else self.key_source
        lines.append(f"checkpoints: {self.checkpoints} in the file, {self.matched} matching the log; key {key}")
        if self.latest is not None:
            lines.append(f"latest matching: {self.latest.label(self.latest.line)}")
            if self.ok and self.log_entries > self.latest.seq:
                lines.append(f"entries {self.latest.seq + 1}..{self.log_entries} are newer than the latest "
                             "checkpoint (not sealed yet)")
        return "\n".join(lines)


def prove(session: Session, checkpoints: list[Checkpoint], public: PublicKey | None,
          key_source: str) -> CheckpointVerdict:
    """Check the chain, then every checkpoint against it.

    `public`: the key checkpoints must be signed with; None trusts the key the
    first checkpoint names (and `key_source` should say that it was not pinned).
    """
    chain = verify(session)
    log = log_id(session) or ""
    last_seq, entries = session.execute(select(func.max(AuditEntry.seq), func.count()).select_from(AuditEntry)).one()
    last_seq, entries = last_seq or 0, entries or 0
    hashes = _hashes(session, {cp.seq for cp in checkpoints})
    trusted = public if public is not None else _named_key(checkpoints)
    problems: list[CheckpointProblem] = []
    if not checkpoints:
        problems.append(CheckpointProblem(EMPTY, "the checkpoint file holds no checkpoint: it proves nothing"))
    matched: list[Checkpoint] = []
    previous: tuple[int, Checkpoint] | None = None
    for number, cp in enumerate(checkpoints, start=1):
        found = _check_one(number, cp, trusted, log, previous, matched, hashes, last_seq, entries)
        if found is not None:
            problems.append(found)
            if found.kind in (SIGNATURE, OTHER_KEY, FOREIGN):
                continue  # its content cannot be trusted: it neither matches nor orders the others
        else:
            matched.append(cp)
        previous = (number, cp)
    return CheckpointVerdict(chain=chain, checkpoints=len(checkpoints), matched=len(matched),
                             latest=matched[-1] if matched else None,
                             key_fingerprint=trusted.fingerprint if trusted else None, key_source=key_source,
                             problems=tuple(problems), log_entries=entries)


def _check_one(number: int, cp: Checkpoint, trusted: PublicKey | None, log: str,
               previous: tuple[int, Checkpoint] | None, matched: list[Checkpoint], hashes: dict[int, str],
               last_seq: int, entries: int) -> CheckpointProblem | None:
    name = cp.label(number)
    if trusted is not None and cp.key != trusted.text:
        return CheckpointProblem(OTHER_KEY, f"{name}: signed by another key ({_fingerprint(cp.key)}), not "
                                 f"{trusted.fingerprint}: not a checkpoint of this key", number, cp.line, cp.seq)
    if not cp.signature_ok(trusted):
        return CheckpointProblem(SIGNATURE, f"{name}: the signature does not verify: the line was altered or "
                                 "forged after it was signed", number, cp.line, cp.seq)
    if cp.log != log:
        return CheckpointProblem(FOREIGN, f"{name}: a checkpoint of another log ({cp.log[:12]}…), not of this "
                                 f"database's log ({log[:12] or 'none'}…): the wrong file or the wrong database",
                                 number, cp.line, cp.seq)
    if previous is not None:
        before_number, before = previous
        if cp.seq < before.seq or cp.count < before.count or cp.time < before.time:
            return CheckpointProblem(BACKWARDS, f"{name}: goes backwards after checkpoint #{before_number} (line "
                                     f"{before.line}, {before.time}, seq {before.seq}): checkpoints were reordered "
                                     "or one was sealed over a log that had shrunk", number, cp.line, cp.seq)
        if cp.seq == before.seq and cp.hash != before.hash:
            return CheckpointProblem(BACKWARDS, f"{name}: seals seq {cp.seq} with another hash than checkpoint "
                                     f"#{before_number} (line {before.line}): one of them sealed a rewritten log",
                                     number, cp.line, cp.seq)
    good = matched[-1].seq if matched else 0
    if cp.seq > last_seq or cp.count > entries:
        if entries == 0:
            return CheckpointProblem(CUT, f"{_seqs(1, cp.seq)} gone: the log is empty, but {name} sealed "
                                     f"{cp.count} entries: every entry and the head were deleted",
                                     number, cp.line, 1)
        since = f"after seq {good} (the last sealed entry still on the chain)" if matched else \
            "(no earlier checkpoint still matches)"
        return CheckpointProblem(CUT, f"{_seqs(last_seq + 1, cp.seq)} gone: the chain shrank to {entries} entries "
                                 f"(last seq {last_seq}), but {name} sealed {cp.count}: entries were deleted {since}, "
                                 "cut from the end or deleted and the rest renumbered", number, cp.line, last_seq + 1)
    if hashes.get(cp.seq) != cp.hash:
        since = f"the last matching checkpoint is at seq {good}" if matched else "no earlier checkpoint matches"
        return CheckpointProblem(REWRITTEN, f"{_seqs(good + 1, cp.seq)} rewritten: entry {cp.seq} no longer has the "
                                 f"hash {name} sealed ({since}): an entry in that range was changed, inserted or "
                                 "deleted and the chain recomputed", number, cp.line, good + 1)
    return None


def _seqs(first: int, last: int) -> str:
    return f"seq {first}" if first >= last else f"seq {first}..{last}"


def _hashes(session: Session, seqs: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    ordered = sorted(seqs)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        for seq, digest in session.execute(select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.in_(chunk))):
            found[seq] = digest
    return found


def _named_key(checkpoints: list[Checkpoint]) -> PublicKey | None:
    for cp in checkpoints:
        try:
            return PublicKey.parse(cp.key)
        except AuditKeyError:
            continue
    return None


def _fingerprint(key_text: str) -> str:
    try:
        return PublicKey.parse(key_text).fingerprint
    except AuditKeyError:
        return "an unreadable key"
