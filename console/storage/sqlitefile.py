"""The SQLite file behind a database: made private, or found and checked before anything writes to it.

A database holds personal data, so a new one is created 0600 in folders created
0700 (SQLite gives its -wal and -shm files the database file's mode). It is made
under a temporary name and linked into place already initialised, so no other
process ever sees a 0-byte file there: a 0-byte file where a database should be
is therefore a lost database, and is said to be one instead of silently becoming
a new, empty database.

An existing file is checked with SQLite's `PRAGMA quick_check` before use: a
damaged database is refused before a write can build on it. The check reads
every page, so it grows with the file: ~15 ms for 10,000 contacts and a
10,000-recipient broadcast (7.7 MB), ~0.3 s at ten times that (warm cache, idle
machine; cold ~3x). So a clean check leaves a stamp of the file (device, inode,
size, mtime and ctime, in the user state dir) and an open that finds the file
exactly as stamped skips the check: anything that writes the file through the
file system, SQLite's own checkpoints included, changes its ctime, which no
program can set back, and is checked again at the next open.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import secrets
import sqlite3
import stat
from pathlib import Path
from urllib.parse import quote

from console.errors import ConsoleError
from console.storage.errors import (
    CorruptDatabaseError,
    DatabaseUnavailableError,
    DiskFullError,
    NoDatabaseError,
    ReadOnlyDatabaseError,
    StorageError,
)
from console.storage.faults import translate
from console.storage.paths import checked_dir

log = logging.getLogger("console.storage")

SQLITE_HEADER = b"SQLite format 3\x00"
FILE_MODE = 0o600
DIR_MODE = 0o700
CREATING_HINT = "the desktop app, `contacts import`, `channels add` or `settings set` create one"


def prepare(path: Path, *, create: bool) -> bool:
    """Make sure `path` is a sound SQLite database before it is opened; True when it was just made.

    Raises:
        NoDatabaseError: no file there (or a folder) and `create` is False.
        CorruptDatabaseError: an empty (0-byte) file, not a SQLite file, or one quick_check finds damaged.
        StorageError: anything else that stops it being opened, in words.
    """
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if not create:
            raise NoDatabaseError(_missing(path)) from None
        return _create(path)
    except OSError as exc:
        raise DatabaseUnavailableError(f"cannot open {path}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise NoDatabaseError(f"no database at {path}: it is a folder")
    if st.st_size == 0:
        raise CorruptDatabaseError(
            f"{path} is empty (0 bytes): the database that was here is lost; restore it from a backup, "
            "or delete the file to start a new database")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseUnavailableError(f"cannot open {path}: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        raise CorruptDatabaseError(f"{path} is not a SQLite database (no SQLite header): a wrong --db, or a "
                                   "damaged file; restore it from a backup")
    if _read_stamp(path) != _stamp(st):
        quick_check(path)
        _write_stamp(path)
    return False


def quick_check(path: Path) -> None:
    """SQLite's quick_check over the whole file (no index/table cross-check: that is integrity_check)."""
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=rw", uri=True, timeout=30)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise _fault(exc, path) from None
    if problems != ["ok"]:
        first = " ".join(problems[0].replace("*** in database main ***", "").split())
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise CorruptDatabaseError(f"{path} is damaged (SQLite quick_check: {first}{more}): nothing was "
                                   "written to it; restore it from a backup")


def _stamp(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _stamp_file(path: Path) -> Path:
    return checked_dir() / hashlib.sha256(os.fsencode(path.absolute())).hexdigest()[:32]


def _read_stamp(path: Path) -> str | None:
    try:
        return _stamp_file(path).read_text(encoding="ascii")
    except (OSError, ValueError):
        return None


def _write_stamp(path: Path) -> None:
    """Remember the file as checked (as it is after the check: closing may have checkpointed)."""
    try:
        stamp = _stamp(path.stat())
        target = _stamp_file(path)
        make_private_dirs(target.parent)
        tmp = target.with_name(f"{target.name}.{secrets.token_hex(4)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(stamp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except (OSError, ConsoleError) as exc:  # only a saving: the next open checks again
        log.debug("could not stamp %s as checked: %s", path, exc)


def make_private_dirs(folder: Path) -> None:
    """Create `folder` and any missing parents 0700; folders that exist are left as they are."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for new in reversed(missing):
        try:
            new.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _os_fault(exc, new, f"cannot create the folder {new}") from None
        os.chmod(new, DIR_MODE)  # mkdir's mode is filtered by the umask


def _create(path: Path) -> bool:
    make_private_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.new")
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except OSError as exc:
            raise _os_fault(exc, path, f"cannot create {path}") from None
        os.close(fd)
        os.chmod(tmp, FILE_MODE)  # whatever the umask
        try:
            conn = sqlite3.connect(tmp)
            try:
                conn.execute("PRAGMA journal_mode=WAL")  # writes the header: the file is a database now
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise _fault(exc, path) from None
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process made it first: use theirs, once checked
            return prepare(path, create=False)
        except OSError:  # a file system without hard links
            if path.exists():
                return False
            os.rename(tmp, path)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    log.info("created a new database at %s (mode 0600)", path)
    return True


def _missing(path: Path) -> str:
    folder = path.parent
    if not folder.is_dir():
        return f"no database at {path} (the folder {folder} does not exist; {CREATING_HINT})"
    return f"no database at {path} ({CREATING_HINT})"


def _fault(exc: sqlite3.Error, path: Path) -> ConsoleError:
    return translate(exc, str(path), path=path, writing=False) or StorageError(f"cannot open {path}: {exc}")


def _os_fault(exc: OSError, path: Path, doing: str) -> ConsoleError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"{doing}: the disk is full (free some space and try again)")
    if exc.errno == errno.EROFS:
        return ReadOnlyDatabaseError(f"{doing}: it is on a read-only file system")
    return DatabaseUnavailableError(f"{doing}: {exc.strerror}")
