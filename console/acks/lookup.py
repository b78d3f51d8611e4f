"""The read path of the answer pages: one indexed query per request, broadcasts cached.

GET must stay cheap under a crowd and must never write, so the per-request
queries run on read-only raw DBAPI connections (console.acks.rawdb). A
broadcast's text (with its Markdown already rendered) and the organisation
name are cached for a few seconds; whether a broadcast is closed is read again
when its entry expires, and the writer decides lateness from the database
itself, not from this cache.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from console import settings
from console.acks.rawdb import RawDialect, ReadPool
from console.acks.richtext import markdown_to_html
from console.models import Broadcast, Channel, Incident
from console.storage import Database
from console.vocabulary import AnswerSource


@dataclass(frozen=True)
class BroadcastView:
    """What an answer page shows of a broadcast."""

    id: int
    kind: str
    title: str
    body_html: str
    severity: str
    options: tuple[str, ...]
    exercise: bool
    created_at: dt.datetime
    closed: bool  # cancelled, or its incident closed: answers count as late
    help_options: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RecipientView:
    id: int
    broadcast_id: int
    answer: str | None
    answered_at: dt.datetime | None
    source: AnswerSource | None = None


def is_late(broadcast_state: str, incident_state: str, kind: str) -> bool:
    """An answer is late when the broadcast was cancelled or its incident closed.

    The all-clear closes its own incident; acknowledging the all-clear is not late.
    """
    return broadcast_state == "cancelled" or (incident_state == "closed" and kind != "all_clear")


_RECIPIENT = "SELECT id, broadcast_id, answer, answered_at, answer_source FROM recipients WHERE "
_BY_TOKEN = _RECIPIENT + "token_hash = :h"
_BY_EMAIL = _RECIPIENT + "broadcast_id = :b AND email = :e"
_GROUP_LINK = "SELECT broadcast_id FROM group_links WHERE token_hash = :h"
_EMAIL_CHANNEL = (select(Channel.id).where(Channel.enabled.is_(True), Channel.kind == "email",
                                           Channel.address_field.is_(None) | (Channel.address_field == "email"))
                  .order_by(Channel.id).limit(1))
_BROADCAST = (
    select(Broadcast.id, Broadcast.kind, Broadcast.title, Broadcast.body, Broadcast.severity, Broadcast.options,
           Broadcast.exercise, Broadcast.created_at, Broadcast.state, Broadcast.help_options,
           Incident.state.label("incident_state"))
    .join(Incident, Incident.id == Broadcast.incident_id)
    .where(Broadcast.id == bindparam("b"))
)


class _TTLCache:
    """A tiny time-limited cache; races only cost a duplicate load."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        self._items: dict[object, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: object, load: Callable[[], object]) -> object:
        hit = self._items.get(key)
        now = self._clock()
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._items) > 1000:
                self._items = {k: v for k, v in self._items.items() if v[0] > now}
            self._items[key] = (now + self._ttl, value)
        return value


class Lookup:
    """Read-only queries of the answer pages.

    Args:
        db: the database.
        ttl: seconds a broadcast or the organisation name is cached.
        connections: read connections at most.
    """

    def __init__(self, db: Database, *, ttl: float = 5.0, connections: int = 8,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._raw = RawDialect(db)
        self._pool = ReadPool(self._raw, connections)
        self._by_token = self._raw.sql(_BY_TOKEN)
        self._by_email = self._raw.sql(_BY_EMAIL)
        self._group_link = self._raw.sql(_GROUP_LINK)
        self._cache = _TTLCache(ttl, clock)

    def close(self) -> None:
        self._pool.close()

    def recipient(self, token_hash: str) -> RecipientView | None:
        return self._recipient(self._by_token, {"h": token_hash})

    def recipient_by_email(self, broadcast_id: int, email: str) -> RecipientView | None:
        return self._recipient(self._by_email, {"b": broadcast_id, "e": email})

    def group_broadcast(self, token_hash: str) -> int | None:
        """The broadcast a group link belongs to."""
        with self._pool.cursor() as cur:
            cur.execute(self._group_link, {"h": token_hash})
            row = cur.fetchone()
        return int(row[0]) if row else None

    def broadcast(self, broadcast_id: int) -> BroadcastView | None:
        found = self._cache.get(("b", broadcast_id), lambda: self._load_broadcast(broadcast_id))
        assert found is None or isinstance(found, BroadcastView)
        return found

    def org_name(self) -> str:
        def load() -> str:
            with self._db.read() as session:
                return str(settings.get(session, "org.name"))

        return str(self._cache.get("org", load))

    def org_timezone(self) -> str:
        """The IANA zone answer pages write times in (setting org.timezone)."""
        def load() -> str:
            with self._db.read() as session:
                return str(settings.get(session, "org.timezone"))

        return str(self._cache.get("org-tz", load))

    def email_channel(self) -> int | None:
        """An enabled email channel that can mail a person their own link (None: there is none)."""
        def load() -> int | None:
            with self._db.read() as session:
                return session.scalar(_EMAIL_CHANNEL)

        found = self._cache.get("email-channel", load)
        return found if isinstance(found, int) else None

    def ping(self) -> None:
        """One round trip to the database (raises when it is unreachable)."""
        with self._pool.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()

    def _recipient(self, sql: str, params: dict[str, object]) -> RecipientView | None:
        with self._pool.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        if row is None:
            return None
        return RecipientView(int(row[0]), int(row[1]), row[2], self._raw.time_value(row[3]),
                             AnswerSource(row[4]) if row[4] else None)

    def _load_broadcast(self, broadcast_id: int) -> BroadcastView | None:
        with self._db.read() as session:
            row = session.execute(_BROADCAST, {"b": broadcast_id}).first()
        if row is None:
            return None
        created = self._raw.time_value(row.created_at)
        assert created is not None
        return BroadcastView(
            id=row.id, kind=row.kind, title=row.title.replace("\x00", ""),  # NUL delimits the page's slots
            body_html=markdown_to_html(row.body),
            severity=row.severity, options=tuple(row.options), exercise=bool(row.exercise), created_at=created,
            closed=is_late(row.state, row.incident_state, row.kind), help_options=frozenset(row.help_options or ()),
        )
