"""Signed checkpoints of the audit log, kept in a file outside the database.

A checkpoint says: at `time`, the log `log` (the database's `audit.log_id`)
had `count` entries and its entry `seq` had hash `hash`; signed with the
Ed25519 key `key` (console.audit.signing). Whoever can write the database
cannot rewrite what a checkpoint sealed without it being found, because they
cannot sign a new checkpoint, and the old ones stay in a file they need not
reach (and, when an auditors' channel is set, in the auditors' inboxes).

The file is JSON Lines: one object per line with the members log, seq, hash,
count, time, key, sig, written as RFC 8785 (console.audit.jcs). `sig` is the
base64 Ed25519 signature of the UTF-8 RFC 8785 text of the object without
`sig`, so anyone can check one with any Ed25519 library:

    body = {k: v for k, v in line.items() if k != "sig"}
    verify(public_key, base64decode(line["sig"]), jcs(body).encode())

Appends take an exclusive lock on the file (flock), write one whole line with
O_APPEND and fsync it, so concurrent sealers never interleave or lose a line.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from console.audit.jcs import JcsError, canonical_json, parse_strict
from console.audit.signing import PublicKey, SigningKey
from console.errors import UserError

FIELDS = ("log", "seq", "hash", "count", "time", "key", "sig")
_TYPES: dict[str, type] = {"log": str, "seq": int, "hash": str, "count": int, "time": str, "key": str, "sig": str}


class CheckpointFileError(UserError):
    """A checkpoint file that is missing, unreadable or not what it should hold; names file and line."""


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint; `line` is where it was read (1-based; 0 when not read from a file)."""

    log: str
    seq: int
    hash: str
    count: int
    time: str
    key: str
    sig: str
    line: int = field(default=0, compare=False)

    def body(self) -> dict[str, Any]:
        """Every field but `sig`: what the signature covers."""
        return {"log": self.log, "seq": self.seq, "hash": self.hash, "count": self.count, "time": self.time,
                "key": self.key}

    def signed_text(self) -> str:
        return canonical_json(self.body())

    def line_text(self) -> str:
        """The checkpoint as its file line (without the newline)."""
        return canonical_json({**self.body(), "sig": self.sig})

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["line"]
        return data

    def signature_ok(self, public: PublicKey | None = None) -> bool:
        """The signature holds under `public` (None: under the key the checkpoint names).

        False too when `public` is given and is not the key the checkpoint names.
        """
        try:
            named = PublicKey.parse(self.key)
            sig = base64.b64decode(self.sig, validate=True)
        except (UserError, binascii.Error, ValueError):
            return False
        if public is not None and public != named:
            return False
        return named.verifies(sig, self.signed_text().encode("utf-8"))

    def label(self, index: int | None = None) -> str:
        """How a message names it: `checkpoint #2 (line 2, 2026-11-27T20:40:00.000000Z, seq 25)`."""
        number = index if index is not None else self.line
        return f"checkpoint #{number} (line {self.line}, {self.time}, seq {self.seq})"


def make(key: SigningKey, log: str, seq: int, hash: str, count: int, time: str) -> Checkpoint:
    """A new checkpoint signed with `key`."""
    unsigned = Checkpoint(log=log, seq=seq, hash=hash, count=count, time=time, key=key.public.text, sig="")
    sig = base64.b64encode(key.sign(unsigned.signed_text().encode("utf-8"))).decode("ascii")
    return Checkpoint(log=log, seq=seq, hash=hash, count=count, time=time, key=key.public.text, sig=sig)


def default_path(log_id: str, directory: Path) -> Path:
    """The default checkpoint file of log `log_id`, in `directory` (the signing key's folder)."""
    return directory / f"audit-checkpoints-{log_id[:12]}.jsonl"


def parse_line(text: str, where: str, line: int) -> Checkpoint:
    """One line of a checkpoint file; CheckpointFileError names `where` and the line."""
    try:
        data = parse_strict(text)
    except JcsError as exc:
        raise CheckpointFileError(f"{where} line {line}: {exc}") from None
    except ValueError:
        raise CheckpointFileError(f"{where} line {line}: not a JSON object (damaged or not a checkpoint file)") \
            from None
    if not isinstance(data, dict):
        raise CheckpointFileError(f"{where} line {line}: not a JSON object")
    missing = [f for f in FIELDS if f not in data]
    extra = sorted(set(data) - set(FIELDS))
    if missing or extra:
        what = (f"missing {', '.join(missing)}" if missing else "") + \
               ("; " if missing and extra else "") + (f"unknown {', '.join(extra)}" if extra else "")
        raise CheckpointFileError(f"{where} line {line}: not a checkpoint ({what})")
    for name, kind in _TYPES.items():
        value = data[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            expected = "a whole number" if kind is int else "text"
            raise CheckpointFileError(f"{where} line {line}: {name} must be {expected}")
    return Checkpoint(**data, line=line)


def parse(data: bytes, where: str) -> list[Checkpoint]:
    """Every checkpoint in the bytes of a checkpoint file, in file order."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointFileError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    result = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise CheckpointFileError(f"{where} line {number}: empty line")
        result.append(parse_line(line, where, number))
    return result


def load(path: Path) -> list[Checkpoint]:
    """Every checkpoint in the file at `path`, in file order (signatures are not checked here)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise CheckpointFileError(f"{path}: no such checkpoint file") from None
    except IsADirectoryError:
        raise CheckpointFileError(f"{path}: is a folder, not a checkpoint file") from None
    except OSError as exc:
        raise CheckpointFileError(f"{path}: cannot read it: {exc.strerror}") from None
    return parse(data, str(path))


def latest_covering(checkpoints: Sequence[Checkpoint], seq: int) -> Checkpoint | None:
    """The last checkpoint in file order that seals entry `seq` (its seq is `seq` or later)."""
    for cp in reversed(checkpoints):
        if cp.seq >= seq:
            return cp
    return None


class LockedFile:
    """A checkpoint file held under an exclusive lock: read what is there, append one line."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    def read(self) -> list[Checkpoint]:
        size = os.fstat(self._fd).st_size
        data = os.pread(self._fd, size, 0) if size else b""
        return parse(data, str(self.path))

    def append(self, checkpoint: Checkpoint) -> None:
        data = (checkpoint.line_text() + "\n").encode("utf-8")
        written = os.write(self._fd, data)  # O_APPEND: at the end, whoever wrote last
        if written != len(data):
            raise OSError(28, f"only {written} of {len(data)} bytes written")
        os.fsync(self._fd)


@contextmanager
def locked(path: Path) -> Iterator[LockedFile]:
    """Open (creating it and its folder if need be) and lock the checkpoint file for one seal."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if created:  # the new name itself must survive a power cut
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        yield LockedFile(fd, path)
    finally:
        os.close(fd)  # releases the lock
