"""The outbox in SQL: claim, record, recover, cancel. The dispatcher's database side.

Claiming marks a batch `sending` in one statement. On PostgreSQL the batch is
picked with `FOR UPDATE SKIP LOCKED`, so several dispatcher processes share one
outbox without sending a delivery twice; on SQLite the write transaction
(`BEGIN IMMEDIATE`) serialises claimers, which is correct and cheap there.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from console import audit
from console.models import Broadcast, Delivery, utcnow


def worker_identity() -> str:
    """host:pid:nonce, so a restarted process never mistakes old claims for its own."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Claimed:
    id: int
    broadcast_id: int
    recipient_id: int | None
    group_link_id: int | None
    channel_id: int
    address: str | None
    attempts: int
    reminder: bool


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed delivery, ready to be recorded."""

    claimed: Claimed
    ok: bool
    error: str | None
    target: str
    duration: float
    timed_out: bool = False


def claim(conn: Connection, me: str, limit: int, now: dt.datetime | None = None) -> list[Claimed]:
    now = now or utcnow()
    picked = (
        select(Delivery.id)
        .where(Delivery.state == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(picked))
        .values(state="sending", claimed_by=me, claimed_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery.id, Delivery.broadcast_id, Delivery.recipient_id, Delivery.group_link_id,
                   Delivery.channel_id, Delivery.address, Delivery.attempts, Delivery.reminder)
    )
    rows = [Claimed(*r) for r in conn.execute(stmt)]
    rows.sort(key=lambda c: c.id)
    return rows


def record(conn: Connection, me: str, outcomes: list[Outcome], max_attempts: int, retry_base: float) -> set[int]:
    """Write results and their audit entries; returns the broadcasts touched."""
    now = utcnow()
    sent, retry, failed = [], [], []
    for o in outcomes:
        c = o.claimed
        if o.ok:
            sent.append({"_id": c.id})
        elif c.attempts < max_attempts:
            delay = retry_base * (2 ** (c.attempts - 1))
            retry.append({"_id": c.id, "_err": o.error, "_next": now + dt.timedelta(seconds=delay)})
        else:
            failed.append({"_id": c.id, "_err": o.error})
    mine = and_(Delivery.id == bindparam("_id"), Delivery.state == "sending")
    if sent:
        conn.execute(update(Delivery).where(mine).values(state="sent", sent_at=now, last_error=None), sent)
    if retry:
        conn.execute(update(Delivery).where(mine).values(
            state="pending", last_error=bindparam("_err"), next_attempt_at=bindparam("_next"), claimed_by=None), retry)
    if failed:
        conn.execute(update(Delivery).where(mine).values(state="failed", last_error=bindparam("_err")), failed)
    entries = []
    for o in outcomes:
        c = o.claimed
        action = "delivery.sent" if o.ok else ("delivery.retry" if c.attempts < max_attempts else "delivery.failed")
        details = {"broadcast": c.broadcast_id, "recipient": c.recipient_id, "group_link": c.group_link_id,
                   "channel": c.channel_id, "address": c.address, "target": o.target, "attempt": c.attempts,
                   "ms": round(o.duration * 1000, 1), "reminder": c.reminder, "by": me}
        if not o.ok:
            details["error"] = o.error
        entries.append(("dispatcher", action, f"delivery {c.id}", details))
    audit.append_many(conn, entries)
    return {o.claimed.broadcast_id for o in outcomes}


def finish_broadcasts(conn: Connection, broadcast_ids: set[int]) -> list[int]:
    """Mark broadcasts with nothing left to send as sent; returns those finished now."""
    done = []
    for bid in sorted(broadcast_ids):
        left = conn.execute(select(func.count()).where(
            Delivery.broadcast_id == bid, Delivery.state.in_(("pending", "sending")))).scalar_one()
        if left:
            continue
        changed = conn.execute(update(Broadcast).where(Broadcast.id == bid, Broadcast.state == "sending")
                               .values(state="sent", closed_at=utcnow())).rowcount
        if changed:
            counts = dict(conn.execute(select(Delivery.state, func.count()).where(Delivery.broadcast_id == bid)
                                       .group_by(Delivery.state)).all())
            audit.append(conn, "dispatcher", "broadcast.completed", f"broadcast {bid}", counts)
            done.append(bid)
    return done


def recover(conn: Connection, me: str, lease_seconds: float) -> int:
    """Put back `sending` rows whose dispatcher is gone (dead pid here, or lease expired)."""
    host, pid, _ = me.split(":")
    stale = utcnow() - dt.timedelta(seconds=lease_seconds)
    owners = conn.execute(select(Delivery.claimed_by).where(Delivery.state == "sending").distinct()).scalars().all()
    dead = [o for o in owners if o and o != me and _is_dead(o, host, int(pid))]
    cond = Delivery.claimed_at < stale
    if dead:
        cond = cond | Delivery.claimed_by.in_(dead)
    count = conn.execute(update(Delivery).where(Delivery.state == "sending", cond)
                         .values(state="pending", claimed_by=None, next_attempt_at=utcnow())).rowcount
    if count:
        audit.append(conn, "dispatcher", "delivery.requeued", "outbox",
                     {"deliveries": count, "reason": "dispatcher stopped mid-send", "by": me})
    return count


def _is_dead(owner: str, my_host: str, my_pid: int) -> bool:
    try:
        host, pid_text, _ = owner.split(":")
        pid = int(pid_text)
    except ValueError:
        return False
    if host != my_host:
        return False  # another machine: only its lease can tell
    if pid == my_pid:
        return True  # an earlier process with our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def cancel(session: Session, broadcast_id: int, actor: str) -> int:
    """Stop a broadcast: its pending deliveries are cancelled (in-flight ones finish)."""
    from console.broadcast.send import existing_broadcast

    b = existing_broadcast(session, broadcast_id)
    count = session.execute(update(Delivery).where(Delivery.broadcast_id == broadcast_id,
                                                   Delivery.state == "pending").values(state="cancelled")).rowcount
    b.state, b.closed_at = "cancelled", utcnow()
    audit.append(session, actor, "broadcast.cancel", f"broadcast {broadcast_id}", {"cancelled_deliveries": count})
    return count


def open_work(session: Session, broadcast_id: int | None = None) -> int:
    """Deliveries still pending or sending (of one broadcast, or all)."""
    q = select(func.count()).where(Delivery.state.in_(("pending", "sending")))
    if broadcast_id is not None:
        q = q.where(Delivery.broadcast_id == broadcast_id)
    return session.scalar(q) or 0
