"""Driver errors in words: which database, what went wrong, whether anything was saved.

SQLite (sqlite3) and PostgreSQL (psycopg) report faults as codes buried in long
messages; SQLAlchemy wraps them again. `translate` maps the ones a person can act
on (disk full, read-only, damaged, locked, unreachable, missing) to the storage
error types, so the CLI prints one line and the GUI one dialog. Anything else (a
constraint, a bug) is left alone for its caller.
"""

from __future__ import annotations

import os
from pathlib import Path

from console.errors import ConsoleError
from console.storage.errors import (
    CorruptDatabaseError,
    DatabaseBusyError,
    DatabaseIOError,
    DatabaseUnavailableError,
    DiskFullError,
    NoDatabaseError,
    ReadOnlyDatabaseError,
    StorageError,
)

# SQLite primary result codes (https://sqlite.org/rescode.html)
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT = 3, 5, 6, 8, 10, 11
_FULL, _CANTOPEN, _AUTH, _NOTADB = 13, 14, 23, 26
_READONLY_DBMOVED = 1032
_LOW_SPACE = 256 * 1024
"""Free bytes under which an I/O error on the database's disk is called what it is: a full disk."""

_DRIVER_MODULES = ("sqlite3", "psycopg", "sqlalchemy")


def is_driver_error(exc: BaseException) -> bool:
    """True for exceptions raised by the database layers (checked without importing them)."""
    return type(exc).__module__.split(".")[0] in _DRIVER_MODULES


def translate(exc: BaseException, where: str, *, path: Path | None = None, writing: bool) -> ConsoleError | None:
    """The storage error for a driver error, or None when it is not a storage fault.

    Args:
        exc: a sqlite3 / psycopg error, or SQLAlchemy's wrapper of one.
        where: the database as shown to a person (a file path, a URL without password).
        path: the SQLite file, to look at its disk and modes for a better cause.
        writing: a write transaction failed (it was rolled back: "nothing was saved").
    """
    if isinstance(exc, ConsoleError):
        return exc
    orig = getattr(exc, "orig", None) or exc
    module = type(orig).__module__.split(".")[0]
    if module == "sqlite3":
        return _sqlite(orig, where, path, writing)
    if module == "psycopg":
        return _postgresql(orig, where, writing)
    return None


def last_resort(exc: BaseException, where: str) -> ConsoleError:
    """Any database-layer error as one line (for main(): no traceback ever reaches a person)."""
    translated = translate(exc, where, writing=False)
    if translated is not None:
        return translated
    orig = getattr(exc, "orig", None) or exc
    return StorageError(f"database error on {where}: {type(orig).__name__}: {_first_line(str(orig))}")


def _sqlite(orig: BaseException, where: str, path: Path | None, writing: bool) -> ConsoleError | None:
    code = getattr(orig, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    text = _first_line(str(orig))
    saved = ": nothing was saved" if writing else ""
    if primary == _FULL or (primary in (_IOERR, _CANTOPEN) and path is not None and _low_space(path)):
        return DiskFullError(f"the disk holding {where} is full{saved} (free some space and try again)")
    if primary == _READONLY or (primary in (_IOERR, _CANTOPEN) and path is not None and _read_only_fs(path)):
        why = "it was moved or deleted while in use" if code == _READONLY_DBMOVED else _why_read_only(path, text)
        return ReadOnlyDatabaseError(f"{where} is read-only ({why}){saved}")
    if primary in (_CORRUPT, _NOTADB):
        return CorruptDatabaseError(f"{where} is damaged ({text}){saved}; restore it from a backup")
    if primary == _IOERR:
        return DatabaseIOError(f"disk I/O error on {where} ({getattr(orig, 'sqlite_errorname', text)}){saved}")
    if primary in (_BUSY, _LOCKED):
        return DatabaseBusyError(f"{where} is locked by another program ({text}){saved}; try again")
    if primary == _CANTOPEN:
        if path is not None and not path.parent.is_dir():
            return NoDatabaseError(f"no database at {where}: the folder {path.parent} does not exist")
        why = "permission denied" if path is not None and _denied(path) else text
        return DatabaseUnavailableError(f"cannot open {where}: {why}")
    if primary in (_PERM, _AUTH):
        return DatabaseUnavailableError(f"cannot open {where}: access denied ({text})")
    return None


def _postgresql(orig: BaseException, where: str, writing: bool) -> ConsoleError | None:
    state = getattr(orig, "sqlstate", None) or ""
    text = _pg_reason(str(orig))
    saved = ": nothing was saved" if writing else ""
    if state == "53100":
        return DiskFullError(f"the disk of the PostgreSQL server of {where} is full{saved}")
    if state.startswith("53"):
        return StorageError(f"the PostgreSQL server of {where} is out of resources ({text}){saved}")
    if state in ("XX001", "XX002"):
        return CorruptDatabaseError(f"{where} is damaged ({text}){saved}; restore it from a backup")
    if state == "25006":
        return ReadOnlyDatabaseError(f"{where} is read-only ({text}){saved}")
    if state == "3D000" or (not state and text.startswith("database") and "does not exist" in text):
        return NoDatabaseError(f"no database at {where}: {text}")
    if state.startswith("28"):
        return DatabaseUnavailableError(f"cannot connect to {where}: login refused ({text})")
    if state.startswith(("08", "57P")) or type(orig).__name__ == "OperationalError":
        return DatabaseUnavailableError(f"cannot connect to {where}: {text}{saved}")
    return None


def _pg_reason(message: str) -> str:
    """libpq's 'connection failed: connection to server at …, port … failed: FATAL:  why' → 'why'."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    reason = lines[0].rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
    if "Connection refused" in reason:
        reason += " (is the server running on that host and port?)"
    return reason


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def _existing(path: Path) -> Path:
    """The file, else its nearest existing folder (whose disk it would be on)."""
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return probe


def _low_space(path: Path) -> bool:
    try:
        st = os.statvfs(_existing(path))
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < _LOW_SPACE


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(_existing(path)).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _why_read_only(path: Path | None, text: str) -> str:
    if path is None:
        return text
    if _read_only_fs(path):
        return "it is on a read-only file system"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is not writable"
    if not os.access(path.parent, os.W_OK):
        return f"its folder {path.parent} is not writable"
    return text


def _denied(path: Path) -> bool:
    probe = _existing(path)
    return not os.access(probe, os.R_OK | (os.X_OK if probe.is_dir() else 0))
