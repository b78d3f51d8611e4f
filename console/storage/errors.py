"""Storage errors: each says which database and what went wrong, in one line.

`StorageError` and its subclasses are failures (exit 1): the request was sound but
the database could not serve it. A URL or path that names no database is the
user's mistake (exit 2).
"""

from console.errors import Failure, UserError


class StorageError(Failure):
    """The database could not be opened, read or written."""


class DiskFullError(StorageError):
    """The disk (or the PostgreSQL server's disk) has no room left; the transaction was rolled back."""


class ReadOnlyDatabaseError(StorageError):
    """The database file, its folder or its file system does not accept writes."""


class CorruptDatabaseError(StorageError):
    """The database is damaged, empty (0 bytes) or not a database at all."""


class DatabaseIOError(StorageError):
    """The operating system reported an I/O error reading or writing the database."""


class DatabaseBusyError(StorageError):
    """Another program held the database's lock for longer than the busy timeout."""


class DatabaseUnavailableError(StorageError):
    """The database could not be opened or reached (permissions, server down, login refused)."""


class DatabaseURLError(UserError):
    """The database URL is malformed or names an unsupported backend."""


class NoDatabaseError(UserError):
    """No database where the URL points, and the command does not create one."""


class ReadOnlyModeError(UserError):
    """A write was asked of a database opened read-only (`--read-only`, env CRISIS_CONSOLE_READ_ONLY)."""


class SecretKeyError(Failure):
    """The secret key is missing, unreadable or is not the one the database was sealed with."""
