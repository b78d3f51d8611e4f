"""Reminders: new deliveries, same personal links, for recipients who have not answered."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from console import audit
from console.broadcast.errors import BroadcastError
from console.broadcast.send import existing_broadcast
from console.models import Channel, Delivery, Recipient, utcnow
from console.vocabulary import BroadcastState, DeliveryState


def remind(session: Session, broadcast_id: int, actor: str) -> tuple[int, int]:
    """Queue a reminder on every route that reached each silent recipient.

    Returns (people reminded, deliveries queued).
    """
    b = existing_broadcast(session, broadcast_id)
    if b.state == BroadcastState.CANCELLED:
        raise BroadcastError(f"broadcast {broadcast_id} was cancelled: nothing to remind")
    routes = session.execute(
        select(Delivery.recipient_id, Delivery.channel_id, Delivery.address)
        .join(Recipient, Recipient.id == Delivery.recipient_id)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(Delivery.broadcast_id == broadcast_id, Delivery.reminder.is_(False),
               Recipient.answer.is_(None), Channel.enabled.is_(True))
        .distinct()
    ).all()
    now = utcnow()
    rows = [{"broadcast_id": broadcast_id, "recipient_id": rid, "channel_id": cid, "address": address,
             "state": DeliveryState.PENDING.value, "attempts": 0, "reminder": True, "next_attempt_at": now,
             "created_at": now}
            for rid, cid, address in routes]
    for start in range(0, len(rows), 500):
        session.execute(insert(Delivery), rows[start:start + 500])
    people = len({r["recipient_id"] for r in rows})
    if rows and b.state in (BroadcastState.SENT, BroadcastState.FAILED):
        b.state = BroadcastState.SENDING.value  # open again until the reminders are recorded
    audit.append(session, actor, "broadcast.remind", f"broadcast {broadcast_id}",
                 {"recipients": people, "deliveries": len(rows)})
    return people, len(rows)
