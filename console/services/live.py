"""The incident picture: what the live broadcast views show, read in plain Python.

The desktop calls these in a worker thread (never the GUI thread); they return
immutable values, so the Qt models only copy and compare. Nothing is kept only
in memory: two consoles on one PostgreSQL database each read the same rows.
A read of 10,000 recipients costs what changed since the last one (the
incremental read by `changed_at`, see Watermark), fetched 500 rows at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from console.broadcast.status import BroadcastStatus, broadcast_status
from console.models import Broadcast, Delivery, Incident, Recipient
from console.storage import Database
from console.vocabulary import (
    OPEN_DELIVERY_STATES,
    AnswerSource,
    BroadcastKind,
    BroadcastState,
    DeliveryState,
    IncidentState,
    Severity,
)

SERIES_POINTS = 240
"""At most this many points per answer line: the chart stays cheap at 10,000 answers."""


class PersonDelivery(StrEnum):
    """Where a person's personal deliveries of one broadcast stand, as the recipients table shows it."""

    SENT = DeliveryState.SENT.value
    SENDING = DeliveryState.SENDING.value
    RETRYING = "retrying"  # pending again after a failed attempt
    PENDING = DeliveryState.PENDING.value
    FAILED = DeliveryState.FAILED.value
    CANCELLED = DeliveryState.CANCELLED.value
    NONE = ""  # no personal delivery (reached by a group post only)


class BroadcastNode(NamedTuple):
    id: int
    incident_id: int
    kind: BroadcastKind
    title: str
    state: BroadcastState
    exercise: bool
    severity: Severity
    created_at: dt.datetime


class IncidentNode(NamedTuple):
    id: int
    title: str
    state: IncidentState
    exercise: bool
    opened_at: dt.datetime
    broadcasts: tuple[BroadcastNode, ...]


class RecipientRow(NamedTuple):
    """One person of one broadcast, as the recipients table shows them."""

    id: int
    name: str
    email: str
    state: PersonDelivery
    error: str
    answer: str
    answered_at: dt.datetime | None
    needs_help: bool = False  # the answer in force is one of the broadcast's help options
    self_report: bool = False  # ... and it came through a group link (console.vocabulary.AnswerSource)


@dataclass(frozen=True)
class Detail:
    """Counts and answer lines of one broadcast; `fingerprint` changes whenever a row does."""

    status: BroadcastStatus
    fingerprint: tuple[object, ...]
    start: dt.datetime
    end: dt.datetime
    series: dict[str, list[tuple[float, int]]] = field(default_factory=dict)


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
            select(Delivery.broadcast_id).where(Delivery.state.in_(OPEN_DELIVERY_STATES)).distinct()))
        failed_ids = set(session.scalars(
            select(Delivery.broadcast_id).where(Delivery.state == DeliveryState.FAILED).distinct()))
    children: dict[int, list[BroadcastNode]] = {}
    for r in rows:
        state = BroadcastState(r.state)
        if state is BroadcastState.SENDING and r.id not in open_ids:  # the dispatcher marks it in its next batch
            state = BroadcastState.finished(1 if r.id in failed_ids else 0)  # show what is true now
        children.setdefault(r.incident_id, []).append(BroadcastNode(
            r.id, r.incident_id, BroadcastKind(r.kind), r.title, state, bool(r.exercise), Severity(r.severity),
            utc(r.created_at)))
    return tuple(IncidentNode(i.id, i.title, IncidentState(i.state), bool(i.exercise), utc(i.opened_at),
                              tuple(children.get(i.id, ()))) for i in incidents)


def load_detail(db: Database, broadcast_id: int) -> Detail:
    """Status counts, a change fingerprint and the cumulative answers per option over time."""
    with db.read() as session:
        status = broadcast_status(session, broadcast_id)
        created = session.scalar(select(Broadcast.created_at).where(Broadcast.id == broadcast_id))
        attempts, last_claim = session.execute(
            select(func.coalesce(func.sum(Delivery.attempts), 0), func.max(Delivery.claimed_at))
            .where(Delivery.broadcast_id == broadcast_id)).one()
        answers = [(a, utc(t)) for a, t in session.execute(
            select(Recipient.answer, Recipient.answered_at)
            .where(Recipient.broadcast_id == broadcast_id, Recipient.answered_at.is_not(None))
            .order_by(Recipient.answered_at)) if t is not None]
    start = utc(created) if created else dt.datetime.now(dt.UTC)
    times = [t for _a, t in answers]
    end = max([dt.datetime.now(dt.UTC), *times[-1:]])
    fingerprint = (status.sent, status.failed, status.pending, status.cancelled, status.acknowledged,
                   tuple(sorted(status.answers.items())), int(attempts), str(last_claim),
                   str(times[-1]) if times else "")
    return Detail(status, fingerprint, start, end, _series(status.options, answers, start, end))


def _series(options: list[str], answers: list[tuple[str | None, dt.datetime]], start: dt.datetime,
            end: dt.datetime) -> dict[str, list[tuple[float, int]]]:
    """Cumulative count per answer (ms since the epoch, count), thinned to SERIES_POINTS."""
    names = list(dict.fromkeys([*options, *(a for a, _t in answers if a)]))
    points: dict[str, list[tuple[float, int]]] = {n: [(ms(start), 0)] for n in names}
    counts = dict.fromkeys(names, 0)
    for answer, when in answers:
        if answer:
            counts[answer] += 1
            points[answer].append((ms(utc(when)), counts[answer]))
    return close_series(points, counts, end)


def close_series(points: dict[str, list[tuple[float, int]]], counts: dict[str, int],
                 end: dt.datetime) -> dict[str, list[tuple[float, int]]]:
    """Each line thinned to SERIES_POINTS (its last point kept) and carried on to `end` at its final count."""
    out = {}
    for name, line in points.items():
        if len(line) > SERIES_POINTS:
            step = len(line) / SERIES_POINTS
            line = [line[int(i * step)] for i in range(SERIES_POINTS)] + [line[-1]]
        out[name] = [*line, (ms(end), counts[name])]
    return out


@dataclass(frozen=True)
class Watermark:
    """Where the last read of a broadcast's recipients left off.

    Every write to a delivery stamps its `changed_at` (console.models.Delivery), so
    the next read looks only at deliveries stamped since `changed_at` (less
    CHANGE_MARGIN, for commits that land late), and at answers since
    `answered_at`: it costs what changed, not the size of the audience. The
    marks are the newest stamps found in the database, not this machine's clock.
    """

    changed_at: dt.datetime | None
    answered_at: dt.datetime | None
    seen: Mapping[int, dt.datetime | None] = field(default_factory=dict)
    """Each delivery's `changed_at` as last read: what the margin brings back unchanged
    (the whole audience, right after a send wrote it) is not read again."""


CHANGE_MARGIN = dt.timedelta(seconds=1)
"""Read again what changed this long before the last mark: a writer's transaction may commit
after a later-stamped one (the dispatcher's take milliseconds; writers' clocks may differ a
little). The view's periodic full read (FULL_RELOAD_MS) catches anything later still."""

_FETCH = 500
_Query = Select[*tuple[Any, ...]]
_PENDING = Delivery.state.in_(OPEN_DELIVERY_STATES)
_STATE_COUNTS = (
    func.sum(case((Delivery.state == DeliveryState.SENT, 1), else_=0)),
    func.sum(case((Delivery.state == DeliveryState.SENDING, 1), else_=0)),
    func.sum(case((_PENDING, 1), else_=0)),
    func.sum(case((Delivery.state == DeliveryState.FAILED, 1), else_=0)),
    func.sum(case((_PENDING & Delivery.last_error.is_not(None), 1), else_=0)),
)


def load_recipients(db: Database, broadcast_id: int) -> tuple[list[RecipientRow], Watermark]:
    """Every recipient of the broadcast with the state of their personal deliveries."""
    with db.read() as session:
        mark = _change_mark(session, broadcast_id)  # first: what changes after it is read next time
        seen = {did: changed for did, _rid, changed in _fetch(session, _stamps(broadcast_id, None))}
        people = _fetch(session, select(Recipient.id, Recipient.name, Recipient.email, Recipient.answer,
                                        Recipient.answered_at, Recipient.needs_help, Recipient.answer_source)
                        .where(Recipient.broadcast_id == broadcast_id).order_by(Recipient.id))
        states = _states(session, broadcast_id, None)
        errors = _errors(session, broadcast_id, None)
    rows = [RecipientRow(rid, name, email, _state(states.get(rid)), errors.get(rid) or "", answer or "",
                         utc(answered_at) if answered_at else None, bool(needs_help),
                         source == AnswerSource.GROUP)
            for rid, name, email, answer, answered_at, needs_help, source in people]
    answered = [r.answered_at for r in rows if r.answered_at is not None]
    return rows, Watermark(mark, max(answered) if answered else None, seen)


def load_changes(db: Database, broadcast_id: int, mark: Watermark,
                 known: dict[int, RecipientRow]) -> tuple[list[RecipientRow], Watermark]:
    """The rows that changed since `mark` (compared with `known`), and the next mark."""
    with db.read() as session:
        next_change = _change_mark(session, broadcast_id)  # first: what changes after it is read next time
        since = mark.changed_at - CHANGE_MARGIN if mark.changed_at is not None else None
        seen = dict(mark.seen)
        touched_ids: set[int] = set()
        for did, rid, changed in _fetch(session, _stamps(broadcast_id, since)):
            if did not in seen or seen[did] != changed:
                seen[did] = changed
                touched_ids.add(rid)
        touched = sorted(touched_ids)
        states: dict[int, tuple[int, ...]] = {}
        errors: dict[int, str] = {}
        for start in range(0, len(touched), 500):
            chunk = touched[start:start + 500]
            states.update(_states(session, broadcast_id, chunk))
            errors.update(_errors(session, broadcast_id, chunk))
        answers = session.execute(
            select(Recipient.id, Recipient.answer, Recipient.answered_at, Recipient.needs_help,
                   Recipient.answer_source)
            .where(Recipient.broadcast_id == broadcast_id, Recipient.answered_at.is_not(None),
                   *([Recipient.answered_at >= mark.answered_at] if mark.answered_at else []))).all()
    fresh: dict[int, RecipientRow] = {}
    for rid in touched:
        row = known.get(rid)
        if row is not None:
            fresh[rid] = row._replace(state=_state(states.get(rid)), error=errors.get(rid) or "")
    latest = mark.answered_at
    for rid, answer, answered_at, needs_help, source in answers:
        row = fresh.get(rid) or known.get(rid)
        if row is not None and answered_at is not None:
            when = utc(answered_at)
            fresh[rid] = row._replace(answer=answer or "", answered_at=when, needs_help=bool(needs_help),
                                      self_report=source == AnswerSource.GROUP)
            latest = when if latest is None else max(latest, when)
    changed = [row for rid, row in fresh.items() if known.get(rid) != row]
    return changed, Watermark(next_change or mark.changed_at, latest, seen)


def _fetch(session: Session, query: _Query) -> list[Any]:
    """All rows, fetched 500 at a time: one C-level fetch of 10,000 rows would hold the GIL
    (and so the GUI thread) for as long as it runs."""
    rows: list[Any] = []
    for part in session.execute(query.execution_options(yield_per=_FETCH)).partitions():
        rows.extend(part)
    return rows


def _stamps(broadcast_id: int, since: dt.datetime | None) -> _Query:
    """(delivery id, recipient id, changed_at) of personal deliveries, all or those changed since."""
    query = select(Delivery.id, Delivery.recipient_id, Delivery.changed_at).where(
        Delivery.broadcast_id == broadcast_id, Delivery.recipient_id.is_not(None))
    return query if since is None else query.where(Delivery.changed_at >= since)


def _change_mark(session: Session, broadcast_id: int) -> dt.datetime | None:
    return session.scalar(select(func.max(Delivery.changed_at)).where(Delivery.broadcast_id == broadcast_id))


def _states(session: Session, broadcast_id: int, ids: list[int] | None) -> dict[int, tuple[int, ...]]:
    query = (select(Delivery.recipient_id, *_STATE_COUNTS)
             .where(Delivery.broadcast_id == broadcast_id, Delivery.recipient_id.is_not(None))
             .group_by(Delivery.recipient_id))
    if ids is not None:
        query = query.where(Delivery.recipient_id.in_(ids))
    return {r[0]: tuple(r[1:]) for r in _fetch(session, query)}


def _errors(session: Session, broadcast_id: int, ids: list[int] | None) -> dict[int, str]:
    """The latest error text per recipient (Apprise's words, scrubbed of secrets by channels/)."""
    query = (select(Delivery.recipient_id, Delivery.last_error)
             .where(Delivery.broadcast_id == broadcast_id, Delivery.last_error.is_not(None),
                    Delivery.recipient_id.is_not(None)).order_by(Delivery.id))
    if ids is not None:
        query = query.where(Delivery.recipient_id.in_(ids))
    return dict(session.execute(query).all())  # type: ignore[arg-type]


def _state(counts: tuple[int, ...] | None) -> PersonDelivery:
    if counts is None:
        return PersonDelivery.NONE
    sent, sending, pending, failed, retrying = counts
    if sent:
        return PersonDelivery.SENT
    if sending:
        return PersonDelivery.SENDING
    if retrying:
        return PersonDelivery.RETRYING
    if pending:
        return PersonDelivery.PENDING
    return PersonDelivery.FAILED if failed else PersonDelivery.CANCELLED


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


@dataclass(frozen=True)
class DetailRead:
    """One read of the shown broadcast: its counts and its rows (all of them, or those changed)."""

    broadcast_id: int
    detail: Detail
    rows: list[RecipientRow] | None
    changes: list[RecipientRow]
    mark: Watermark | None
    full: bool


def read_detail(db: Database, broadcast_id: int, fingerprint: tuple[object, ...] | None, mark: Watermark | None,
                known: dict[int, RecipientRow] | None, full: bool) -> DetailRead:
    """Counts always; rows only when something changed: all of them (`full`, or nothing known yet)
    or just those touched since `mark`."""
    detail = load_detail(db, broadcast_id)
    if not full and mark is not None and detail.fingerprint == fingerprint:
        return DetailRead(broadcast_id, detail, None, [], mark, False)
    if full or mark is None or known is None:
        rows, new_mark = load_recipients(db, broadcast_id)
        changes = diff_rows(known, rows) if known is not None else None
        if changes is None:
            return DetailRead(broadcast_id, detail, rows, [], new_mark, True)
        return DetailRead(broadcast_id, detail, None, changes, new_mark, True)
    changes, new_mark = load_changes(db, broadcast_id, mark, known)
    return DetailRead(broadcast_id, detail, None, changes, new_mark, False)


def silent_count(db: Database, broadcast_id: int) -> int:
    """Recipients without an answer (who a reminder would reach)."""
    with db.read() as session:
        return session.scalar(select(func.count()).where(Recipient.broadcast_id == broadcast_id,
                                                         Recipient.answer.is_(None))) or 0


def utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def ms(value: dt.datetime) -> float:
    return value.timestamp() * 1000.0
