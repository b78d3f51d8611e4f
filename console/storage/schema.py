"""The schema revision this code expects, known without importing Alembic.

Opening a database checks its `alembic_version` row against HEAD and only
imports Alembic (~0.1-0.5 s of a cold start on the target machine) when an
upgrade is due. A test keeps HEAD equal to the migrations' real head.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

HEAD = "0005"
"""The revision of the newest file under console/storage/migrations/versions."""


@dataclass(frozen=True)
class SchemaState:
    """What a database holds: its Alembic revisions (None: unversioned) and whether it has any table."""

    revisions: list[str] | None
    has_tables: bool

    @property
    def current(self) -> bool:
        return self.revisions == [HEAD]


def is_current(engine: Engine) -> bool:
    """True when the database is already at HEAD (False when unversioned, older or unreadable)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no table yet: a new or unversioned database
        return False
    return rows == [HEAD]


def schema_state(engine: Engine) -> SchemaState:
    """One connection's look at the schema; a database that cannot be reached raises (DBAPIError)."""
    with engine.connect() as conn:
        try:
            rows = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except DBAPIError:
            conn.rollback()  # PostgreSQL: the failed statement spoiled the transaction
            if _has_table(conn, "alembic_version"):
                raise  # the table is there: the failure was something else (a fault)
            return SchemaState(None, bool(conn.dialect.get_table_names(conn)))
        return SchemaState(rows, True)


def _has_table(conn: Connection, name: str) -> bool:
    return bool(conn.dialect.has_table(conn, name))
