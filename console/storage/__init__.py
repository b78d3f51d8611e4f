"""Storage: engine and URL resolution, SQLite pragmas, Alembic migrations, secret encryption."""

from console.storage.database import Database, get_setting_value, open_database, resolve_url
from console.storage.errors import DatabaseURLError, SecretKeyError, StorageError

__all__ = [
    "Database",
    "DatabaseURLError",
    "SecretKeyError",
    "StorageError",
    "get_setting_value",
    "open_database",
    "resolve_url",
]
