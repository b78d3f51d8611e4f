"""Settings use cases: read and change the typed settings shared through the database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console import settings as domain
from console.settings import DEFINITIONS, SettingDef, SettingError, parse_value
from console.storage import Database

__all__ = ["DEFINITIONS", "SettingDef", "SettingError", "get", "get_all", "parse_value", "set_many", "set_value"]


def get(db: Database, key: str) -> Any:
    """One setting's value (its default when never set)."""
    with db.read() as session:
        return domain.get(session, key)


def get_all(db: Database) -> dict[str, Any]:
    """Every setting by key, in definition order."""
    with db.read() as session:
        return domain.get_all(session)


def set_value(db: Database, key: str, value: str, actor: str) -> Any:
    """Check, store and audit one setting; returns the parsed value."""
    return set_many(db, {key: value}, actor)[key]


def set_many(db: Database, changes: Mapping[str, str], actor: str) -> dict[str, Any]:
    """Change several settings in one transaction: all are stored or none.

    Every value is checked before the transaction starts, so a bad one touches nothing.
    """
    for key, value in changes.items():
        parse_value(key, value)
    with db.write() as session:
        return {key: domain.set_value(session, key, value, actor) for key, value in changes.items()}
