"""What the live broadcast views show, read from the database in plain Python.

Every function here runs in a worker thread (never the GUI thread) and returns
immutable values, so the Qt models only copy and compare. Nothing is kept only
in memory: two consoles on one PostgreSQL database each read the same rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import case, func, select

from console.broadcast.status import BroadcastStatus, broadcast_status
from console.models import Broadcast, Channel, Delivery, Incident, Recipient
from console.storage import Database

NEEDS_HELP = "I need help"
SERIES_POINTS = 240
"""At most this many points per answer line: the chart stays cheap at 10,000 answers."""


class BroadcastNode(NamedTuple):
    id: int
    incident_id: int
    kind: str
    title: str
    state: str
    exercise: bool
    severity: str
    created_at: dt.datetime


class IncidentNode(NamedTuple):
    id: int
    title: str
    state: str
    exercise: bool
    opened_at: dt.datetime
    broadcasts: tuple[BroadcastNode, ...]


class RecipientRow(NamedTuple):
    """One person of one broadcast, as the recipients table shows them."""

    id: int
    name: str
    email: str
    state: str  # sent | sending | pending | retrying | failed | cancelled | "" (no personal delivery)
    error: str
    answer: str
    answered_at: dt.datetime | None


@dataclass(frozen=True)
class Detail:
    """Counts and answer lines of one broadcast; `fingerprint` changes whenever a row does."""

    status: BroadcastStatus
    fingerprint: tuple[object, ...]
    start: dt.datetime
    end: dt.datetime
    series: dict[str, list[tuple[float, int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class FollowUpBase:
    """What an update or all-clear inherits from the broadcast it follows."""

    incident_id: int
    title: str
    severity: str
    exercise: bool
    groups: list[str]
    contact_ids: list[int]
    channels: list[str]


def load_tree(db: Database) -> tuple[IncidentNode, ...]:
    """Every incident, newest first, with its broadcasts in the order they were sent."""
    with db.read() as session:
        incidents = session.execute(
            select(Incident.id, Incident.title, Incident.state, Incident.exercise, Incident.opened_at)
            .order_by(Incident.id.desc())).all()
        rows = session.execute(
            select(Broadcast.id, Broadcast.incident_id, Broadcast.kind, Broadcast.title, Broadcast.state,
                   Broadcast.exercise, Broadcast.severity, Broadcast.created_at).order_by(Broadcast.id)).all()
        open_ids = set(session.scalars(
            select(Delivery.broadcast_id).where(Delivery.state.in_(("pending", "sending"))).distinct()))
    children: dict[int, list[BroadcastNode]] = {}
    for r in rows:
        state = r.state
        if state == "sending" and r.id not in open_ids:
            state = "sent"  # the dispatcher marks it in its next batch; show what is true now
        children.setdefault(r.incident_id, []).append(BroadcastNode(
            r.id, r.incident_id, r.kind, r.title, state, bool(r.exercise), r.severity, _utc(r.created_at)))
    return tuple(IncidentNode(i.id, i.title, i.state, bool(i.exercise), _utc(i.opened_at),
                              tuple(children.get(i.id, ()))) for i in incidents)


def load_detail(db: Database, broadcast_id: int) -> Detail:
    """Status counts, a change fingerprint and the cumulative answers per option over time."""
    with db.read() as session:
        status = broadcast_status(session, broadcast_id)
        created = session.scalar(select(Broadcast.created_at).where(Broadcast.id == broadcast_id))
        attempts, last_claim = session.execute(
            select(func.coalesce(func.sum(Delivery.attempts), 0), func.max(Delivery.claimed_at))
            .where(Delivery.broadcast_id == broadcast_id)).one()
        answers = session.execute(
            select(Recipient.answer, Recipient.answered_at)
            .where(Recipient.broadcast_id == broadcast_id, Recipient.answered_at.is_not(None))
            .order_by(Recipient.answered_at)).all()
    start = _utc(created) if created else dt.datetime.now(dt.timezone.utc)
    times = [_utc(t) for _a, t in answers]
    end = max([dt.datetime.now(dt.timezone.utc), *times[-1:]])
    fingerprint = (status.sent, status.failed, status.pending, status.cancelled, status.acknowledged,
                   tuple(sorted(status.answers.items())), int(attempts), str(last_claim),
                   str(times[-1]) if times else "")
    return Detail(status, fingerprint, start, end, _series(status.options, answers, start, end))


def _series(options: list[str], answers: list[tuple[str | None, dt.datetime]], start: dt.datetime,
            end: dt.datetime) -> dict[str, list[tuple[float, int]]]:
    """Cumulative count per answer (ms since the epoch, count), thinned to SERIES_POINTS."""
    names = list(dict.fromkeys([*options, *(a for a, _t in answers if a)]))
    points: dict[str, list[tuple[float, int]]] = {n: [(_ms(start), 0)] for n in names}
    counts = dict.fromkeys(names, 0)
    for answer, when in answers:
        if answer:
            counts[answer] += 1
            points[answer].append((_ms(_utc(when)), counts[answer]))
    out = {}
    for name, line in points.items():
        if len(line) > SERIES_POINTS:
            step = len(line) / SERIES_POINTS
            line = [line[int(i * step)] for i in range(SERIES_POINTS)] + [line[-1]]
        out[name] = [*line, (_ms(end), counts[name])]
    return out


def load_recipients(db: Database, broadcast_id: int) -> list[RecipientRow]:
    """Every recipient of the broadcast with the state of their personal deliveries."""
    pending = Delivery.state.in_(("pending", "sending"))
    with db.read() as session:
        people = session.execute(
            select(Recipient.id, Recipient.name, Recipient.email, Recipient.answer, Recipient.answered_at)
            .where(Recipient.broadcast_id == broadcast_id).order_by(Recipient.id)).all()
        states = {r[0]: r[1:] for r in session.execute(
            select(Delivery.recipient_id,
                   func.sum(case((Delivery.state == "sent", 1), else_=0)),
                   func.sum(case((Delivery.state == "sending", 1), else_=0)),
                   func.sum(case((pending, 1), else_=0)),
                   func.sum(case((Delivery.state == "failed", 1), else_=0)),
                   func.sum(case((pending & Delivery.last_error.is_not(None), 1), else_=0)))
            .where(Delivery.broadcast_id == broadcast_id, Delivery.recipient_id.is_not(None))
            .group_by(Delivery.recipient_id))}
        errors = dict(session.execute(
            select(Delivery.recipient_id, Delivery.last_error)
            .where(Delivery.broadcast_id == broadcast_id, Delivery.last_error.is_not(None),
                   Delivery.recipient_id.is_not(None)).order_by(Delivery.id)).all())
    rows = []
    for rid, name, email, answer, answered_at in people:
        rows.append(RecipientRow(rid, name, email, _state(states.get(rid)), errors.get(rid) or "",
                                 answer or "", _utc(answered_at) if answered_at else None))
    return rows


def _state(counts: tuple[int, int, int, int, int] | None) -> str:
    if counts is None:
        return ""
    sent, sending, pending, failed, retrying = counts
    if sent:
        return "sent"
    if sending:
        return "sending"
    if retrying:
        return "retrying"
    if pending:
        return "pending"
    return "failed" if failed else "cancelled"


def diff_rows(old: dict[int, RecipientRow], new: list[RecipientRow]) -> list[RecipientRow] | None:
    """Rows that changed, or None when the set of people differs (the table must be reset)."""
    if len(old) != len(new):
        return None
    changed = []
    for row in new:
        before = old.get(row.id)
        if before is None:
            return None
        if before != row:
            changed.append(row)
    return changed


def follow_up_base(db: Database, broadcast_id: int) -> FollowUpBase:
    """The audience and channels of a broadcast, for an update or all-clear in its incident."""
    with db.read() as session:
        b = session.get(Broadcast, broadcast_id)
        if b is None:
            from console.broadcast.errors import BroadcastNotFound

            raise BroadcastNotFound(f"no broadcast with id {broadcast_id}")
        names = list(session.scalars(select(Channel.name).where(Channel.id.in_(b.channel_ids or [-1]),
                                                                Channel.enabled.is_(True))))
        incident = b.incident
        audience = b.audience or {}
        return FollowUpBase(incident.id, incident.title, b.severity, bool(b.exercise),
                            list(audience.get("groups", [])), [int(c) for c in audience.get("contacts", [])],
                            names)


def silent_count(db: Database, broadcast_id: int) -> int:
    """Recipients without an answer (who a reminder would reach)."""
    with db.read() as session:
        return session.scalar(select(func.count()).where(Recipient.broadcast_id == broadcast_id,
                                                         Recipient.answer.is_(None))) or 0


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def _ms(value: dt.datetime) -> float:
    return value.timestamp() * 1000.0
