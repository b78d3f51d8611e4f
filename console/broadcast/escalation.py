"""Escalation: once a broadcast's `escalate_after_s` has passed, each manager of people who have
not answered gets one message listing them.

A manager is an email (contacts.manager, the CSV column `manager`), not necessarily a
contact. The message goes through the outbox like any other (retried, audited, safe
across restarts) as a delivery with no recipient and no group link, addressed to the
manager on an email channel; its text is written when it is sent, so someone who
answered in between is no longer listed. `broadcasts.escalated_at` makes it happen once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from channels import Rendered, ServiceLimits, as_html, render
from console import audit
from console.broadcast.reminders import silent
from console.models import Broadcast, Channel, Contact, Delivery, Incident, Recipient
from console.storage import Database
from console.vocabulary import BroadcastState, ChannelKind, DeliveryState, IncidentState

_IDLE_STATES = (BroadcastState.SCHEDULED.value, BroadcastState.CANCELLED.value)


@dataclass(frozen=True)
class Escalated:
    """One escalation: manager email → the emails of their people without an answer."""

    broadcast_id: int
    managers: dict[str, list[str]] = field(default_factory=dict)
    deliveries: int = 0


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def starts_at(b: Broadcast) -> dt.datetime:
    """When the broadcast went (or goes) out: its schedule, else when it was written."""
    return aware(b.scheduled_at or b.created_at)


def _is_due(b: Broadcast, now: dt.datetime) -> bool:
    return (b.escalate_after_s is not None and b.escalated_at is None and b.state not in _IDLE_STATES
            and starts_at(b) + dt.timedelta(seconds=b.escalate_after_s) <= now)


def due(db: Database, now: dt.datetime) -> list[int]:
    """Broadcasts of open incidents whose escalation time has come and that have not escalated."""
    with db.read() as session:
        candidates = session.scalars(
            select(Broadcast).join(Incident, Incident.id == Broadcast.incident_id)
            .where(Broadcast.escalate_after_s.is_not(None), Broadcast.escalated_at.is_(None),
                   Broadcast.state.not_in(_IDLE_STATES), Incident.state != IncidentState.CLOSED)
            .order_by(Broadcast.id)).all()
        return [b.id for b in candidates if _is_due(b, now)]


def escalate(session: Session, broadcast_id: int, now: dt.datetime, actor: str) -> Escalated | None:
    """Queue one message per manager, unless another dispatcher holds or already did this escalation."""
    b = session.scalars(select(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.escalated_at.is_(None))
                        .with_for_update(skip_locked=True)).first()
    if b is None or not _is_due(b, now):
        return None
    if session.scalar(select(Incident.state).where(Incident.id == b.incident_id)) == IncidentState.CLOSED:
        return None
    b.escalated_at = now
    managers = _silent_by_manager(session, b)
    channel_id = _email_channel(session, b) if managers else None
    rows = [{"broadcast_id": b.id, "recipient_id": None, "group_link_id": None, "channel_id": channel_id,
             "address": manager, "state": DeliveryState.PENDING.value, "attempts": 0, "reminder": False,
             "next_attempt_at": now, "created_at": now}
            for manager in sorted(managers)] if channel_id is not None else []
    if rows:
        session.execute(insert(Delivery), rows)
        if b.state in (BroadcastState.SENT, BroadcastState.FAILED):
            b.state = BroadcastState.SENDING.value  # open again until the messages are recorded
    details: dict[str, object] = {"managers": managers, "deliveries": len(rows), "channel": channel_id}
    if managers and channel_id is None:
        details["problem"] = "no enabled email channel to reach the managers"
    audit.append(session, actor, "broadcast.escalate", f"broadcast {b.id}", details)
    return Escalated(b.id, managers, len(rows))


def _silent_people(session: Session, b: Broadcast, manager: str | None = None) -> list[tuple[str, str, str | None,
                                                                                             str]]:
    """(name, email, phone, manager) of the broadcast's people without an answer who have a manager."""
    query = (select(Recipient.name, Recipient.email, Contact.phone, Contact.manager)
             .join(Contact, Contact.id == Recipient.contact_id)
             .where(Recipient.broadcast_id == b.id, silent(b.incident_id), Contact.manager.is_not(None),
                    Contact.manager != "")
             .order_by(Recipient.name, Recipient.email))
    if manager is not None:
        query = query.where(Contact.manager == manager)
    return [(name, email, phone, boss or "") for name, email, phone, boss in session.execute(query)]


def _silent_by_manager(session: Session, b: Broadcast) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for _name, email, _phone, manager in _silent_people(session, b):
        grouped[manager].append(email)
    return dict(grouped)


def _email_channel(session: Session, b: Broadcast) -> int | None:
    """An enabled personal email channel: one the broadcast used if it can, else any."""
    ids = list(session.scalars(select(Channel.id).where(
        Channel.kind == ChannelKind.EMAIL, Channel.address_field == "email", Channel.enabled.is_(True))
        .order_by(Channel.id)))
    used = set(b.channel_ids or [])
    return next((i for i in ids if i in used), ids[0] if ids else None)


def message(session: Session, broadcast_id: int, manager: str, *, kind: str, org_name: str,
            limits: ServiceLimits | None) -> Rendered:
    """The escalation text for `manager`, as of now, rendered for a channel of `kind`."""
    b = session.get(Broadcast, broadcast_id)
    if b is None:
        raise ValueError(f"broadcast {broadcast_id} is gone")
    people = _silent_people(session, b, manager)
    sent = starts_at(b).strftime("%Y-%m-%d %H:%M UTC")
    if people:
        title = f"No answer from {len(people)} of your people: {b.title}"
        lines = [f"- {name} <{email}>" + (f", {phone}" if phone else "") for name, email, phone, _ in people]
        body = (f"These people have not answered “{b.title}” (sent {sent}). Please check on them:\n\n"
                + "\n".join(lines))
    else:
        title = f"Everyone has answered: {b.title}"
        body = f"Everyone listed under you has now answered “{b.title}” (sent {sent})."
    rendered = render(kind, title=title, body=body, severity=b.severity, exercise=b.exercise, link=None,
                      options=(), org_name=org_name, service_limits=limits)
    return as_html(rendered) if kind == ChannelKind.EMAIL else rendered


__all__ = ["Escalated", "aware", "due", "escalate", "message", "starts_at"]
