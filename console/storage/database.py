"""The database: URL resolution, engine set-up, sessions, migrations on open.

SQLite write transactions start with `BEGIN IMMEDIATE` so two writers never
both read the audit chain's tail and then collide on commit (WAL would
otherwise fail the second with SQLITE_BUSY_SNAPSHOT, which no busy timeout
retries). Reads use plain deferred transactions and never block writers.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from console.models import Setting
from console.storage.errors import DatabaseURLError, SecretKeyError, StorageError
from console.storage.paths import default_database_path
from console.storage.schema import is_current
from console.storage.secrets import SecretBox

log = logging.getLogger("console.storage")

DB_ENV = "CRISIS_CONSOLE_DB"
KEY_CHECK_SETTING = "secrets.key_check"
_WRITE = "console_write"


def resolve_url(explicit: str | None = None) -> str:
    """`--db URL`, else env CRISIS_CONSOLE_DB, else the SQLite file in the user data dir."""
    if explicit:
        return explicit
    if os.environ.get(DB_ENV):
        return os.environ[DB_ENV]
    path = default_database_path()
    return f"sqlite:///{path}"


class Database:
    """One database: an engine, session factories and the secret box.

    Args:
        url: SQLAlchemy URL (sqlite:///file or postgresql+psycopg://…).
        upgrade: run pending Alembic migrations now (the normal case).
        secrets: a SecretBox to use instead of loading the key lazily.
    """

    def __init__(self, url: str, *, upgrade: bool = True, secrets: SecretBox | None = None) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False)
        self._secrets = secrets
        if upgrade and not is_current(self.engine):
            from console.storage.migrate import upgrade_to_head  # Alembic only when an upgrade is due

            upgrade_to_head(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for status bars and logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any error."""
        with self._writes() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._reads() as session, session.begin():
            yield session

    @property
    def secrets(self) -> SecretBox:
        """The key, checked once against the check value sealed in the database.

        The first use may write the check value in a transaction of its own:
        take it before opening a write transaction, not inside one.
        """
        if self._secrets is None:
            box = SecretBox.load()
            self._verify_key(box)
            self._secrets = box
        return self._secrets

    def _verify_key(self, box: SecretBox) -> None:
        with self.write() as session:
            row = session.get(Setting, KEY_CHECK_SETTING)
            if row is None:
                session.add(Setting(key=KEY_CHECK_SETTING, value=box.make_check()))
            elif not box.matches_check(row.value):
                raise SecretKeyError(
                    f"wrong secret key: the database {self.display_url} was sealed with another key "
                    f"than the one from {box.source}"
                )

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseURLError(f"--db: not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise DatabaseURLError(f"--db: unknown database driver {parsed.drivername!r}") from None
    except ModuleNotFoundError as exc:
        raise DatabaseURLError(f"--db: the driver for {parsed.drivername!r} is not installed ({exc.name})") from None
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
        except ModuleNotFoundError:
            raise DatabaseURLError(
                "--db: PostgreSQL needs the psycopg driver: pip install 'crisis-console[postgresql]'"
            ) from None
    raise DatabaseURLError(f"--db: unsupported database {backend!r} (use sqlite:/// or postgresql://)")


def _sqlite_engine(parsed: Any) -> Engine:
    database = parsed.database
    if database and database != ":memory:":
        path = Path(database)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the folder for {path}: {exc.strerror}") from None
    engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
        except Exception as exc:  # sqlite3.DatabaseError: not a database, unreadable, …
            raise StorageError(f"cannot open SQLite database {database}: {exc}") from None
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_database(url: str | None = None, **kwargs: Any) -> Database:
    """Resolve the URL and open (and upgrade) the database, with errors in words."""
    resolved = resolve_url(url)
    try:
        return Database(resolved, **kwargs)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StorageError(f"cannot open database {make_url(resolved).render_as_string(True)}: {reason}") from None
    except SQLAlchemyError as exc:
        raise StorageError(f"database error on {resolved}: {exc.__class__.__name__}: {exc}") from None


def get_setting_value(session: Session, key: str) -> str | None:
    return session.scalar(select(Setting.value).where(Setting.key == key))
