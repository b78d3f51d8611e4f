"""Time-driven follow-through: scheduled sends, automatic reminder rounds, escalation to managers.

Everything it needs is in the database (broadcasts.scheduled_at, next_remind_at,
reminders_sent, escalated_at), so whichever dispatcher runs `run_due` — embedded
in the desktop or `crisis-console dispatch`, one or several, restarted or not —
does each piece of due work exactly once:

- a scheduled broadcast is released by a conditional UPDATE (`state = 'scheduled'`);
- a reminder round and an escalation are taken under the broadcast's row lock
  (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the exclusive write transaction on
  SQLite) and re-checked there, and their bookkeeping is written in the same
  transaction as the deliveries they queue.

The clock is an argument, so tests move time instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from console import audit
from console.broadcast import escalation
from console.broadcast.escalation import aware
from console.broadcast.reminders import queue_reminders
from console.models import Broadcast, Incident, utcnow
from console.storage import Database
from console.vocabulary import BroadcastState, IncidentState

log = logging.getLogger("console.broadcast.schedule")

ACTOR = "scheduler"
"""Who the audit log says did the automatic work."""


@dataclass(frozen=True)
class Round:
    """One automatic reminder round: which broadcast, its number (1-based) and what it queued."""

    broadcast_id: int
    number: int
    people: int
    deliveries: int
    fallback: bool


@dataclass(frozen=True)
class DueWork:
    """What one `run_due` did."""

    released: list[int] = field(default_factory=list)
    reminded: list[Round] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)
    """Broadcasts whose automatic reminders ended (everyone answered, K reached, incident closed)."""
    escalated: list[escalation.Escalated] = field(default_factory=list)

    @property
    def queued(self) -> bool:
        """Something new waits in the outbox."""
        return bool(self.released or any(r.deliveries for r in self.reminded)
                    or any(e.deliveries for e in self.escalated))


def run_due(db: Database, now: dt.datetime | None = None) -> DueWork:
    """Do every piece of follow-through whose time has come, each in its own transaction."""
    now = now or utcnow()
    work = DueWork(released=release_scheduled(db, now))
    for bid in _due_reminders(db, now):
        with db.write() as session:
            outcome = remind_round(session, bid, now)
        if isinstance(outcome, Round):
            work.reminded.append(outcome)
        elif outcome:
            work.stopped.append(bid)
    for bid in escalation.due(db, now):
        with db.write() as session:
            done = escalation.escalate(session, bid, now, ACTOR)
        if done is not None:
            work.escalated.append(done)
    return work


def release_scheduled(db: Database, now: dt.datetime) -> list[int]:
    """Scheduled broadcasts whose time came become `sending`: their deliveries can be claimed."""
    with db.read() as session:  # a look first: most polls find nothing, and need no write lock
        if session.scalar(select(Broadcast.id).where(Broadcast.state == BroadcastState.SCHEDULED,
                                                     Broadcast.scheduled_at <= now).limit(1)) is None:
            return []
    with db.write() as session:
        released = sorted(session.scalars(
            update(Broadcast)
            .where(Broadcast.state == BroadcastState.SCHEDULED, Broadcast.scheduled_at <= now)
            .values(state=BroadcastState.SENDING.value)
            .returning(Broadcast.id)).all())
        for bid in released:
            audit.append(session, ACTOR, "broadcast.released", f"broadcast {bid}",
                         {"at": now.isoformat(timespec="seconds")})
    if released:
        log.info("released scheduled broadcasts %s", released)
    return released


def _due_reminders(db: Database, now: dt.datetime) -> list[int]:
    with db.read() as session:
        return list(session.scalars(
            select(Broadcast.id).where(Broadcast.next_remind_at.is_not(None), Broadcast.next_remind_at <= now,
                                       Broadcast.state != BroadcastState.SCHEDULED)
            .order_by(Broadcast.next_remind_at, Broadcast.id)))


def remind_round(session: Session, broadcast_id: int, now: dt.datetime) -> Round | bool:
    """Take the broadcast's due reminder round, if no one else took it.

    Returns the round, True when the reminders were stopped instead, False when there
    was nothing to do (another dispatcher holds or already took the round).
    """
    b = session.scalars(select(Broadcast).where(
        Broadcast.id == broadcast_id, Broadcast.next_remind_at.is_not(None), Broadcast.next_remind_at <= now,
        Broadcast.state != BroadcastState.SCHEDULED).with_for_update(skip_locked=True)).first()
    if b is None or b.next_remind_at is None:
        return False
    why = _why_stop(session, b)
    number = b.reminders_sent + 1
    fallback = b.fallback_channel_id if number >= 2 else None
    queued = None
    if why is None:
        queued = queue_reminders(session, b, fallback_channel_id=fallback, now=now)
        if queued.silent == 0:
            why = "everyone answered"
    if why is not None or queued is None:
        b.next_remind_at = None
        audit.append(session, ACTOR, "broadcast.reminders_stopped", f"broadcast {b.id}",
                     {"reason": why, "reminders_sent": b.reminders_sent})
        return True
    most = b.remind_max or 0
    b.reminders_sent = number
    b.next_remind_at = _next_time(aware(b.next_remind_at), b.remind_every_s or 0, now) if number < most else None
    audit.append(session, ACTOR, "broadcast.remind", f"broadcast {b.id}", {
        "automatic": True, "round": number, "of": most, "recipients": queued.people,
        "deliveries": queued.deliveries, "skipped_pending": queued.skipped, "fallback_channel": fallback,
        "next": b.next_remind_at.isoformat(timespec="seconds") if b.next_remind_at else None})
    return Round(b.id, number, queued.people, queued.deliveries, fallback is not None)


def _why_stop(session: Session, b: Broadcast) -> str | None:
    """Why the automatic reminders end before this round, or None to go on."""
    if b.state == BroadcastState.CANCELLED:
        return "the broadcast was cancelled"
    if session.scalar(select(Incident.state).where(Incident.id == b.incident_id)) == IncidentState.CLOSED:
        return "the incident is closed"
    if not b.remind_every_s or b.reminders_sent >= (b.remind_max or 0):
        return "the last reminder was sent"
    return None


def _next_time(due: dt.datetime, every: int, now: dt.datetime) -> dt.datetime:
    """The round after `due`: on the N, 2N, … cadence, but never in the past (a dispatcher that
    was down for a while sends one round when it comes back, not every round it missed)."""
    step = dt.timedelta(seconds=every)
    following = due + step
    return following if following > now else now + step


__all__ = ["ACTOR", "DueWork", "Round", "release_scheduled", "remind_round", "run_due"]
