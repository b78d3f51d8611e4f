"""Audit use cases: search the log a page at a time, verify its hash chain, export it."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from console import audit as domain
from console.audit import FORMATS, VerifyResult
from console.audit.exportcheck import ExportCheck
from console.audit.proof import CheckpointVerdict
from console.audit.search import PAGE, AuditFilter, AuditRow, actions, search
from console.broadcast.auditseal import SealReport
from console.storage import Database
from console.textsafe import TextSink

__all__ = ["AuditFilter", "AuditPage", "AuditRow", "CheckpointVerdict", "ExportCheck", "FORMATS", "PAGE",
           "PublicKeyInfo", "SealReport", "VerifyResult", "check_export", "checkpoint_file", "export_file",
           "export_to", "public_key", "seal", "search_page", "verify", "verify_with_checkpoints"]


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
    from console.audit.sealing import snapshot

    with db.read() as session:
        snapshot(session)  # PostgreSQL: entries and head from one snapshot, not a commit apart
        return domain.verify(session)


def export_to(db: Database, fmt: str, out: TextSink) -> int:
    """Write the proof (head, count, the checkpoints it covers) and every entry with its hashes to an open
    text sink (newline=""); returns how many entries. A damaged checkpoint file raises (it names the line).
    """
    from console.audit import checkpoints
    from console.audit.sealing import snapshot
    from console.broadcast.auditseal import checkpoint_path

    with db.read() as session:
        snapshot(session)
        path = checkpoint_path(session)
        found = checkpoints.load(path) if path.exists() else []
        return domain.write_export(session, fmt, out, [c.as_dict() for c in found])


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


@dataclass(frozen=True)
class PublicKeyInfo:
    """The audit signing key's public half, for auditors to pin (`--public-key`)."""

    text: str
    fingerprint: str
    source: str


def public_key() -> PublicKeyInfo:
    """The public key checkpoints are signed with (the signing key is created if there is none yet)."""
    from console.broadcast.auditseal import signing_key

    key = signing_key(create=True)
    return PublicKeyInfo(key.public.text, key.public.fingerprint, key.source)


def seal(db: Database) -> SealReport:
    """Check the chain, sign a checkpoint of its head into the checkpoint file, post it to the auditors.

    Raises SealRefused (a Failure) when the chain is broken or no longer matches the last checkpoint.
    """
    from console.broadcast import auditseal

    return auditseal.seal(db)


def verify_with_checkpoints(db: Database, path: Path | None = None, public_key: str | None = None) -> CheckpointVerdict:
    """Verify the chain and prove it against the signed checkpoints in `path` (None: this log's default file).

    `public_key`: `ed25519:<base64>` or a file holding it; None pins this machine's signing key when
    there is one, else trusts the key the file names (and the verdict says it was not pinned).
    """
    from console.audit import checkpoints, signing
    from console.audit.proof import prove
    from console.audit.sealing import snapshot
    from console.broadcast.auditseal import checkpoint_path
    from console.storage.paths import signing_key_path

    pinned: signing.PublicKey | None
    if public_key is not None:
        pinned, source = signing.read_public_key(public_key), "given with --public-key"
    elif signing.available(signing_key_path()):
        pinned, source = signing.load(signing_key_path(), create=False).public, "this machine's signing key"
    else:
        pinned, source = None, "named in the file itself, not pinned: pass --public-key to pin the auditors' copy"
    with db.read() as session:
        snapshot(session)
        found = checkpoints.load(path if path is not None else checkpoint_path(session))
        return prove(session, found, pinned, source)


def checkpoint_file(db: Database) -> Path:
    """The file `verify_with_checkpoints` reads when given none (for a face to show and offer)."""
    from console.broadcast.auditseal import checkpoint_path

    with db.read() as session:
        return checkpoint_path(session)


def check_export(path: Path, public_key: str | None = None) -> ExportCheck:
    """Check an export file from the file alone (no database): chain, count and head, signed checkpoints.

    `public_key`: `ed25519:<base64>` or a file holding it; None trusts the key each checkpoint names.
    """
    from console.audit import signing
    from console.audit.exportcheck import check_export as check

    return check(path, signing.read_public_key(public_key) if public_key is not None else None)
