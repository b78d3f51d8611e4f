"""Raw DBAPI connections for the service's two hot paths (page look-ups, the writer).

Measured on the target machine, SQLAlchemy costs 200-450 µs per statement and
per transaction even with prebuilt Core statements, while a whole sqlite3
write transaction takes about 10 µs; under a crowd that difference is the
throughput. So the hot paths hold their own DBAPI connections, opened with the
same settings as console.storage's engine, and use a few hand-written
statements; the cold paths stay on SQLAlchemy. Read connections are made
read-only by the database itself (SQLite `query_only`, PostgreSQL read-only
sessions), so a GET cannot write even by mistake.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from console.acks.errors import AckError
from console.storage import Database

_NAMED = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite


class RawDialect:
    """The differences between SQLite and PostgreSQL that the hand-written SQL meets."""

    def __init__(self, db: Database) -> None:
        self.name = db.dialect
        if self.name not in ("sqlite", "postgresql"):
            raise AckError(f"the acknowledgement service does not support {self.name} databases")
        self._engine = db.engine
        url = db.engine.url
        if self.name == "sqlite" and (not url.database or url.database == ":memory:"):
            raise AckError("the acknowledgement service needs a SQLite file, not an in-memory database")

    @property
    def postgresql(self) -> bool:
        return self.name == "postgresql"

    def sql(self, text: str) -> str:
        """`:name` placeholders in the driver's own style."""
        return text if self.name == "sqlite" else _NAMED.sub(r"%(\1)s", text)

    def in_list(self, column: str, values: Sequence[int]) -> tuple[str, dict[str, Any]]:
        """`column IN (...)` for a list of ints, as SQL in `sql()` style and its parameters."""
        if self.postgresql:
            return f"{column} = ANY(%(in_list)s)", {"in_list": list(values)}
        names = [f"v{i}" for i in range(len(values))]
        return f"{column} IN ({', '.join(':' + n for n in names)})", dict(zip(names, values, strict=True))

    def time_param(self, when: dt.datetime) -> Any:
        """A UTC datetime as the column stores it."""
        if self.postgresql:
            return when
        return when.astimezone(dt.UTC).strftime(_SQLITE_TIME)

    def time_value(self, value: Any) -> dt.datetime | None:
        """A stored DateTime back as an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        assert isinstance(value, dt.datetime)
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    def connect(self, *, read_only: bool) -> Any:
        """A new autocommit DBAPI connection; transactions are begun explicitly."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self._engine.url.database or "", timeout=30, isolation_level=None,
                                   check_same_thread=False)
            for pragma in ("busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
                conn.execute(f"PRAGMA {pragma}")
            if read_only:
                conn.execute("PRAGMA query_only=ON")
            return conn
        cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
        pg: Any = self._engine.dialect.connect(*cargs, **cparams)
        pg.autocommit = True
        if read_only:
            pg.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        return pg

    def begin_write(self, cursor: Any) -> None:
        """SQLite: take the write lock now (see console.storage.database, BEGIN IMMEDIATE)."""
        cursor.execute("BEGIN IMMEDIATE" if self.name == "sqlite" else "BEGIN")


class ReadPool:
    """A small LIFO pool of read-only connections (threads past `size` wait their turn).

    Args:
        dialect: the database's RawDialect.
        size: connections at most; a waitress thread holds one only for one query.
    """

    def __init__(self, dialect: RawDialect, size: int = 8) -> None:
        self._dialect = dialect
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor on a pooled connection; a connection that failed is dropped, not reused."""
        self._slots.acquire()
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._dialect.connect(read_only=True)
            try:
                cur = conn.cursor()
                try:
                    yield cur
                finally:
                    cur.close()
            except BaseException:
                _close_quietly(conn)
                raise
            with self._lock:
                if self._closed:
                    _close_quietly(conn)
                else:
                    self._idle.append(conn)
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)


def _close_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):  # already broken; nothing more to release
        conn.close()
