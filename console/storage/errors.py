"""Storage errors."""

from console.errors import Failure, UserError


class StorageError(Failure):
    """The database could not be opened or upgraded."""


class DatabaseURLError(UserError):
    """The database URL is malformed or names an unsupported backend."""


class SecretKeyError(Failure):
    """The secret key is missing, unreadable or is not the one the database was sealed with."""
