"""Reminders: new deliveries, same personal links, for recipients who have not answered.

One path for the reminder an officer asks for (`remind`) and the automatic rounds
(console.broadcast.schedule): both queue through `queue_reminders`, which never
queues a reminder on a channel where that person already has one waiting to go
out, so a second `remind` before a dispatcher ran cannot send the same reminder twice.

"Not answered" is across the incident: an answer to any of its messages (an
update, say) settles the person for the whole incident.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, ColumnExpressionArgument, and_, exists, insert, select
from sqlalchemy.orm import Session, aliased

from console import audit
from console.broadcast.errors import BroadcastError, BroadcastNotFound
from console.models import Broadcast, Channel, Contact, Delivery, Recipient, utcnow
from console.vocabulary import OPEN_DELIVERY_STATES, BroadcastState, DeliveryState

_CHUNK = 500
_ADDRESS_FIELDS = ("email", "phone", "chat")


@dataclass(frozen=True)
class Queued:
    """What one reminder round queued.

    Attributes:
        people: recipients who get at least one reminder now.
        deliveries: reminder deliveries queued.
        skipped: silent recipients who got none because theirs are still waiting to go out.
        silent: recipients who have not answered (queued or skipped).
    """

    people: int
    deliveries: int
    skipped: int
    silent: int


def silent(incident_id: int) -> ColumnElement[bool]:
    """`Recipient` has no answer on any broadcast of the incident (matched by email)."""
    other, other_b = aliased(Recipient), aliased(Broadcast)
    return ~exists(select(other.id).join(other_b, other_b.id == other.broadcast_id).where(
        other_b.incident_id == incident_id, other.email == Recipient.email, other.answer.is_not(None)))


def _waiting(recipient_id: ColumnExpressionArgument[int | None],
             channel_id: ColumnExpressionArgument[int] | int) -> ColumnElement[bool]:
    """A reminder to this recipient on this channel is still pending or being sent."""
    d = aliased(Delivery)
    return exists(select(d.id).where(d.recipient_id == recipient_id, d.channel_id == channel_id,
                                     d.reminder.is_(True), d.state.in_(OPEN_DELIVERY_STATES)))


def locked_broadcast(session: Session, broadcast_id: int) -> Broadcast:
    """The broadcast, its row locked until the transaction ends (PostgreSQL; SQLite's write
    transaction is already exclusive), so two reminder rounds never interleave."""
    found = session.scalars(select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update()).first()
    if found is None:
        raise BroadcastNotFound(f"no broadcast with id {broadcast_id}")
    return found


def queue_reminders(session: Session, b: Broadcast, *, fallback_channel_id: int | None = None,
                    now: dt.datetime | None = None) -> Queued:
    """Queue a reminder on every route that reached each silent recipient (and on the fallback
    channel, when given, for those with an address there). The caller holds the broadcast's lock."""
    now = now or utcnow()
    routes = session.execute(
        select(Delivery.recipient_id, Delivery.channel_id, Delivery.address,
               _waiting(Delivery.recipient_id, Delivery.channel_id))
        .join(Recipient, Recipient.id == Delivery.recipient_id)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(Delivery.broadcast_id == b.id, Delivery.reminder.is_(False), silent(b.incident_id),
               Channel.enabled.is_(True))
        .distinct()
    ).all()
    wanted = {(rid, cid): (address, bool(waiting)) for rid, cid, address, waiting in routes}
    everyone = session.scalars(select(Recipient.id).where(Recipient.broadcast_id == b.id,
                                                          silent(b.incident_id))).all()
    if fallback_channel_id is not None:
        for rid, address, waiting in _fallback_routes(session, b, fallback_channel_id):
            wanted.setdefault((rid, fallback_channel_id), (address, waiting))
    rows = [{"broadcast_id": b.id, "recipient_id": rid, "channel_id": cid, "address": address,
             "state": DeliveryState.PENDING.value, "attempts": 0, "reminder": True, "next_attempt_at": now,
             "created_at": now}
            for (rid, cid), (address, waiting) in sorted(wanted.items()) if not waiting]
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(Delivery), rows[start:start + _CHUNK])
    people = {r["recipient_id"] for r in rows}
    skipped = {rid for (rid, _), (_, waiting) in wanted.items() if waiting} - people
    if rows and b.state in (BroadcastState.SENT, BroadcastState.FAILED):
        b.state = BroadcastState.SENDING.value  # open again until the reminders are recorded
    return Queued(len(people), len(rows), len(skipped), len(set(everyone)))


def _fallback_routes(session: Session, b: Broadcast, channel_id: int) -> list[tuple[int, str, bool]]:
    """(recipient, address, a reminder is waiting there) for the silent who have an address on the channel."""
    channel = session.get(Channel, channel_id)
    if channel is None or not channel.enabled or channel.address_field not in _ADDRESS_FIELDS:
        return []
    address = getattr(Contact, channel.address_field)
    rows = session.execute(
        select(Recipient.id, address, _waiting(Recipient.id, channel_id))
        .join(Contact, Contact.id == Recipient.contact_id)
        .where(Recipient.broadcast_id == b.id, silent(b.incident_id), and_(address.is_not(None), address != ""))
    ).all()
    return [(rid, addr, bool(waiting)) for rid, addr, waiting in rows]


def remind(session: Session, broadcast_id: int, actor: str) -> Queued:
    """The officer's reminder: queue one for every silent recipient, on every route that reached them."""
    b = locked_broadcast(session, broadcast_id)
    if b.state == BroadcastState.CANCELLED:
        raise BroadcastError(f"broadcast {broadcast_id} was cancelled: nothing to remind")
    if b.state == BroadcastState.SCHEDULED:
        raise BroadcastError(f"broadcast {broadcast_id} is scheduled and not sent yet: nothing to remind")
    queued = queue_reminders(session, b)
    audit.append(session, actor, "broadcast.remind", f"broadcast {broadcast_id}",
                 {"recipients": queued.people, "deliveries": queued.deliveries, "skipped_pending": queued.skipped})
    return queued
