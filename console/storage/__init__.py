"""Storage: engine and URL resolution, SQLite pragmas, Alembic migrations, secret encryption, faults in words."""

from console.storage.database import (
    Database,
    get_setting_value,
    open_database,
    read_only_requested,
    resolve_url,
    shown_url,
)
from console.storage.errors import (
    CorruptDatabaseError,
    DatabaseBusyError,
    DatabaseIOError,
    DatabaseUnavailableError,
    DatabaseURLError,
    DiskFullError,
    NoDatabaseError,
    ReadOnlyDatabaseError,
    ReadOnlyModeError,
    SecretKeyError,
    StorageError,
)

__all__ = [
    "CorruptDatabaseError",
    "Database",
    "DatabaseBusyError",
    "DatabaseIOError",
    "DatabaseURLError",
    "DatabaseUnavailableError",
    "DiskFullError",
    "NoDatabaseError",
    "ReadOnlyDatabaseError",
    "ReadOnlyModeError",
    "SecretKeyError",
    "StorageError",
    "get_setting_value",
    "open_database",
    "read_only_requested",
    "resolve_url",
    "shown_url",
]
