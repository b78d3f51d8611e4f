"""Schema creation and upgrades, only through the Alembic migrations shipped in the package.

The upgrade runs inside one write transaction on a connection that holds the
database's write lock (SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock),
so two consoles starting at once on an empty database do not both create it.
"""

from __future__ import annotations

import logging
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

log = logging.getLogger("console.storage.migrate")

_MIGRATION_LOCK = 726_001


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("console.storage") / "migrations"))
    return cfg


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    head = head_revision()
    if current_revision(engine) == head:
        return
    cfg = alembic_config()
    with engine.execution_options(console_write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
        log.info("upgrading database schema to %s", head)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
