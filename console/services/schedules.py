"""Scheduled sends and automatic follow-through: list and cancel what waits, read what people type.

`crisis-console scheduled list|cancel` and the desktop call these; the work itself
(releasing a scheduled send, reminder rounds, escalation) is done by whichever
dispatcher runs, through console.broadcast.schedule.run_due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from console import audit
from console.broadcast import outbox
from console.broadcast.durations import describe_duration, parse_at, parse_duration
from console.broadcast.errors import BroadcastError
from console.broadcast.escalation import aware
from console.broadcast.reminders import locked_broadcast
from console.broadcast.schedule import DueWork, run_due
from console.models import Broadcast, Channel, Delivery, Incident, Recipient, utcnow
from console.storage import Database
from console.vocabulary import BroadcastState, DeliveryState, IncidentState

__all__ = ["DueWork", "ScheduledBroadcast", "cancel_scheduled", "describe_duration", "list_scheduled", "parse_at",
           "parse_duration", "run_due"]


@dataclass(frozen=True)
class ScheduledBroadcast:
    """A broadcast waiting for its time, with the follow-through it will get."""

    broadcast_id: int
    incident_id: int
    kind: str
    title: str
    severity: str
    exercise: bool
    scheduled_at: dt.datetime
    sender: str
    recipients: int
    deliveries: int
    remind_every_s: int | None
    remind_max: int | None
    fallback_channel: str | None
    escalate_after_s: int | None

    def as_json(self) -> dict[str, Any]:
        return {"broadcast_id": self.broadcast_id, "incident_id": self.incident_id, "kind": self.kind,
                "title": self.title, "severity": self.severity, "exercise": self.exercise,
                "scheduled_at": self.scheduled_at.isoformat(timespec="seconds"), "sender": self.sender,
                "recipients": self.recipients, "deliveries": self.deliveries,
                "remind_every_s": self.remind_every_s, "remind_max": self.remind_max,
                "fallback_channel": self.fallback_channel, "escalate_after_s": self.escalate_after_s}


def list_scheduled(db: Database) -> list[ScheduledBroadcast]:
    """Broadcasts still waiting for their time, soonest first."""
    with db.read() as session:
        waiting = session.execute(
            select(Broadcast, Channel.name).outerjoin(Channel, Channel.id == Broadcast.fallback_channel_id)
            .where(Broadcast.state == BroadcastState.SCHEDULED)
            .order_by(Broadcast.scheduled_at, Broadcast.id)).all()
        ids = [b.id for b, _ in waiting] or [-1]
        people = dict(session.execute(select(Recipient.broadcast_id, func.count()).where(
            Recipient.broadcast_id.in_(ids)).group_by(Recipient.broadcast_id)).all())
        outgoing = dict(session.execute(select(Delivery.broadcast_id, func.count()).where(
            Delivery.broadcast_id.in_(ids), Delivery.state == DeliveryState.PENDING)
            .group_by(Delivery.broadcast_id)).all())
        return [ScheduledBroadcast(
            b.id, b.incident_id, b.kind, b.title, b.severity, bool(b.exercise), aware(b.scheduled_at or b.created_at),
            b.sender, people.get(b.id, 0), outgoing.get(b.id, 0), b.remind_every_s, b.remind_max, fallback,
            b.escalate_after_s) for b, fallback in waiting]


def cancel_scheduled(db: Database, broadcast_id: int, actor: str) -> int:
    """Cancel a broadcast that has not gone out yet; how many deliveries will not be sent.

    An incident that this cancellation leaves with nothing sent is closed with it.

    Raises:
        BroadcastError: the broadcast is not (or no longer) scheduled.
    """
    with db.write() as session:
        b = locked_broadcast(session, broadcast_id)
        if b.state != BroadcastState.SCHEDULED:
            raise BroadcastError(f"broadcast {broadcast_id} is not scheduled (it is {b.state}); "
                                 f"`crisis-console cancel {broadcast_id}` stops what is still pending")
        at = aware(b.scheduled_at or b.created_at).isoformat(timespec="seconds")
        count = outbox.cancel(session, broadcast_id, actor, {"scheduled_at": at})
        session.flush()
        others = session.scalar(select(func.count()).where(
            Broadcast.incident_id == b.incident_id, Broadcast.state != BroadcastState.CANCELLED)) or 0
        if not others:
            closed = session.execute(update(Incident).where(
                Incident.id == b.incident_id, Incident.state == IncidentState.OPEN).values(
                state=IncidentState.CLOSED.value, closed_at=utcnow(), closed_by=actor,
                close_reason="its only broadcast, a scheduled one, was cancelled"))
            if cast("CursorResult[Any]", closed).rowcount:  # an UPDATE's result is a cursor's
                audit.append(session, actor, "incident.close", f"incident {b.incident_id}",
                             {"reason": "its only broadcast, a scheduled one, was cancelled"})
        return count
