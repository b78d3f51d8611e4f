"""The database: URL resolution, engine set-up, sessions, migrations on open.

SQLite write transactions start with `BEGIN IMMEDIATE` so two writers never
both read the audit chain's tail and then collide on commit (WAL would
otherwise fail the second with SQLITE_BUSY_SNAPSHOT, which no busy timeout
retries). Reads use plain deferred transactions and never block writers.

A database opened read-only (an auditor's `--read-only`, env CRISIS_CONSOLE_READ_ONLY=1)
refuses `write()` with a ReadOnlyModeError before any SQL runs, never migrates or seals
anything on open, and asks the database itself to refuse writes too: SQLite connections
get `PRAGMA query_only`, PostgreSQL sessions `default_transaction_read_only`. So a write
that slipped past the commands' own checks still fails, and says why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from console.models import Setting
from console.storage.errors import DatabaseURLError, NoDatabaseError, ReadOnlyModeError, SecretKeyError
from console.storage.faults import last_resort, translate
from console.storage.paths import default_database_path, key_file_path
from console.storage.schema import HEAD, schema_state
from console.storage.secrets import KEY_ENV, SecretBox
from console.storage.sqlitefile import CREATING_HINT
from console.storage.sqlitefile import prepare as prepare_sqlite_file

log = logging.getLogger("console.storage")

DB_ENV = "CRISIS_CONSOLE_DB"
READ_ONLY_ENV = "CRISIS_CONSOLE_READ_ONLY"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
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


def read_only_requested(explicit: bool = False) -> bool:
    """`--read-only`, else env CRISIS_CONSOLE_READ_ONLY (1/true/yes/on; 0/false/no/off or unset: no)."""
    if explicit:
        return True
    value = os.environ.get(READ_ONLY_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ReadOnlyModeError(f"env {READ_ONLY_ENV}: {value!r} is neither 1 nor 0")


def shown_url(url: str) -> str:
    """A database URL fit for a message: the password hidden; "the database" when it does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for a message
        return "the database"


class Database:
    """One database: an engine, session factories and the secret box.

    Storage faults (disk full, read-only, damaged, locked, unreachable) raised by
    `read`, `write` or the opening itself come out as StorageError subclasses in
    words (console.storage.faults); a write that fails was rolled back.

    Args:
        url: SQLAlchemy URL (sqlite:///file or postgresql+psycopg://…).
        upgrade: run pending Alembic migrations now (the normal case).
        secrets: a SecretBox to use instead of loading the key lazily.
        create: make the database when there is none (a new SQLite file, the schema in an empty
            PostgreSQL database). Commands that only read or act on existing data pass False and get
            NoDatabaseError instead, so a mistyped path creates nothing.
        read_only: an auditor's database: never created, migrated or written (see the module's doc).
    """

    def __init__(self, url: str, *, upgrade: bool = True, secrets: SecretBox | None = None,
                 create: bool = True, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        if read_only:
            create = upgrade = False
        parsed = _parse_url(url)
        self.path = _sqlite_file(parsed)
        self.where = str(self.path) if self.path else parsed.render_as_string(hide_password=True)
        if self.path is not None:
            prepare_sqlite_file(self.path, create=create)
        self.engine = _make_engine(parsed, read_only=read_only)
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False)
        self._secrets = secrets
        try:
            self._open(upgrade=upgrade, create=create)
        except BaseException:
            self.engine.dispose()
            raise

    def _open(self, *, upgrade: bool, create: bool) -> None:
        with self.faults(writing=False):
            state = schema_state(self.engine)
        if state.revisions is None and not create:
            if state.has_tables:
                raise NoDatabaseError(f"{self.where} is not a Crisis Console database (it has other tables and "
                                      "no schema version)")
            raise NoDatabaseError(f"no Crisis Console database at {self.where}: it is empty ({CREATING_HINT})")
        if self.read_only and not state.current:
            raise ReadOnlyModeError(
                f"the database {self.where} has schema {', '.join(state.revisions or ['none'])}, this version needs "
                f"{HEAD}: open it once without --read-only (by someone allowed to write) to upgrade it")
        if upgrade and not state.current:
            from console.storage.migrate import upgrade_to_head  # Alembic only when an upgrade is due

            with self.faults(writing=True):
                upgrade_to_head(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for status bars and logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextlib.contextmanager
    def faults(self, *, writing: bool) -> Iterator[None]:
        """Storage faults raised inside become StorageError subclasses naming this database."""
        try:
            yield
        except (DBAPIError, sqlite3.Error) as exc:
            translated = translate(exc, self.where, path=self.path, writing=writing)
            if translated is None:
                raise
            raise translated from None

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any error.

        Raises:
            ReadOnlyModeError: the database was opened read-only; nothing was sent to it.
        """
        if self.read_only:
            raise ReadOnlyModeError(
                f"read-only mode: this would write to {self.where} (open it without --read-only "
                f"and unset {READ_ONLY_ENV} to make changes)")
        with self.faults(writing=True), self._writes() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self.faults(writing=False), self._reads() as session, session.begin():
            yield session

    @property
    def secrets(self) -> SecretBox:
        """The key, checked once against the check value sealed in the database.

        The first use may write the check value in a transaction of its own:
        take it before opening a write transaction, not inside one.
        """
        if self._secrets is None:
            box = self._load_key()
            self._verify_key(box)
            self._secrets = box
        return self._secrets

    def _load_key(self) -> SecretBox:
        """The key; a new key file is made only for a database that has no secrets sealed yet."""
        if SecretBox.available():
            return SecretBox.load()
        with self.read() as session:
            sealed = session.get(Setting, KEY_CHECK_SETTING) is not None
        if sealed or self.read_only:
            raise SecretKeyError(
                f"no secret key for {self.where}: its secrets were sealed with a key that is neither in env "
                f"{KEY_ENV} nor in {key_file_path()} (set the variable or restore the key file)")
        return SecretBox.load(create=True)

    def _verify_key(self, box: SecretBox) -> None:
        with self.read() as session:
            row = session.get(Setting, KEY_CHECK_SETTING)
            check = None if row is None else row.value
        if check is None and self.read_only:  # nothing to check against, and no sealing here
            return
        if check is None:  # the first key this database sees: seal its check value
            with self.write() as session:
                row = session.get(Setting, KEY_CHECK_SETTING)
                if row is None:
                    session.add(Setting(key=KEY_CHECK_SETTING, value=box.make_check()))
                    return
                check = row.value
        if not box.matches_check(check):
            raise SecretKeyError(
                f"wrong secret key: the database {self.display_url} was sealed with another key "
                f"than the one from {box.source}"
            )

    def dispose(self) -> None:
        self.engine.dispose()


def _parse_url(url: str) -> URL:
    """The URL, checked for a backend and driver we can use before anything touches a disk or a server."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseURLError(f"--db: not a database URL: {url!r}") from None
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise DatabaseURLError(f"--db: unknown database driver {parsed.drivername!r}") from None
    except ModuleNotFoundError as exc:
        raise DatabaseURLError(f"--db: the driver for {parsed.drivername!r} is not installed ({exc.name})") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseURLError(
            f"--db: unsupported database {parsed.get_backend_name()!r} (use sqlite:/// or postgresql://)")
    return parsed


def _sqlite_file(parsed: URL) -> Path | None:
    """The file of a sqlite:/// URL (None for PostgreSQL, :memory: and SQLite URI forms)."""
    if parsed.get_backend_name() != "sqlite" or parsed.query.get("uri"):
        return None
    database = parsed.database
    if not database or database == ":memory:":
        return None
    return Path(database).absolute()


def _make_engine(parsed: URL, *, read_only: bool = False) -> Engine:
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, read_only=read_only)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # Read-only: every transaction of every session is READ ONLY, so the server refuses any write.
    connect_args = {"options": "-c default_transaction_read_only=on"} if read_only else {}
    try:
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args)
    except ModuleNotFoundError:
        raise DatabaseURLError(
            "--db: PostgreSQL needs the psycopg driver: pip install 'crisis-console[postgresql]'"
        ) from None


def _sqlite_engine(parsed: URL, *, read_only: bool = False) -> Engine:
    engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        try:  # a fault here (read-only, damaged, …) reaches Database.faults wrapped by SQLAlchemy
            if read_only:  # the file keeps the journal mode its writers gave it
                cur.execute("PRAGMA query_only=ON")
            else:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_database(url: str | None = None, *, create: bool = True, read_only: bool = False,
                  **kwargs: Any) -> Database:
    """Resolve the URL and open (and upgrade) the database, with errors in words.

    `create=False` for everything that reads or acts on existing data (see Database).
    `read_only` (or env CRISIS_CONSOLE_READ_ONLY=1) opens it for reading only.
    """
    resolved = resolve_url(url)
    read_only = read_only_requested(read_only)
    try:
        return Database(resolved, create=create, read_only=read_only, **kwargs)
    except SQLAlchemyError as exc:  # not a storage fault: still one line, never a traceback
        raise last_resort(exc, make_url(resolved).render_as_string(hide_password=True)) from None


def get_setting_value(session: Session, key: str) -> str | None:
    return session.scalar(select(Setting.value).where(Setting.key == key))
