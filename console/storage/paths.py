"""Where the default database and the key file live (platformdirs)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "crisis-console"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def default_database_path() -> Path:
    return data_dir() / "console.db"


def demo_database_path() -> Path:
    return data_dir() / "demo.db"


def key_file_path() -> Path:
    return config_dir() / "secret.key"


def signing_key_path() -> Path:
    """The audit signing key (console.audit.signing), beside the secret key; checkpoints go there too."""
    return key_file_path().parent / "audit-signing.key"


def checked_dir() -> Path:
    """Where the stamps of databases found sound by quick_check are kept (console.storage.sqlitefile)."""
    return state_dir() / "checked"
