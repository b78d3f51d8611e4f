"""The schema revision this code expects, known without importing Alembic.

Opening a database checks its `alembic_version` row against HEAD and only
imports Alembic (~0.1-0.5 s of a cold start on the target machine) when an
upgrade is due. A test keeps HEAD equal to the migrations' real head.
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

HEAD = "0002"
"""The revision of the newest file under console/storage/migrations/versions."""


def is_current(engine: Engine) -> bool:
    """True when the database is already at HEAD (False when unversioned, older or unreadable)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no table yet: a new or unversioned database
        return False
    return rows == [HEAD]
