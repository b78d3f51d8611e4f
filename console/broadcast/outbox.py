"""The outbox in SQL: claim, record, recover, cancel. The dispatcher's database side.

Recording applies the retry rules (console.broadcast.retry): a failure is tried
again until the delivery's retry window ends; an interrupted send goes back to
pending without counting the attempt; a broadcast ends `sent` only when every
delivery went out, else `failed`.

Claiming marks a batch `sending` in one statement. On PostgreSQL the batch is
picked with `FOR UPDATE SKIP LOCKED`, so several dispatcher processes share one
outbox without sending a delivery twice; on SQLite the write transaction
(`BEGIN IMMEDIATE`) serialises claimers, which is correct and cheap there.
Deliveries of a broadcast still `scheduled` are never claimed: they wait for
their time (`next_attempt_at`) and for the scheduler to release the broadcast
(console.broadcast.schedule), so it is `sending` before its first result is recorded.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from console import audit
from console.audit.chain import Entry
from console.broadcast.retry import GiveUp, RetryPolicy
from console.models import Broadcast, Delivery, utcnow
from console.vocabulary import OPEN_DELIVERY_STATES, BroadcastState, DeliveryState


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
    created_at: dt.datetime
    """When the delivery was queued: its retry window starts here."""


class Verdict(StrEnum):
    """What recording made of an outcome."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    REQUEUED = "requeued"
    """Interrupted before it finished (a stop, a killed sender): pending again, the attempt not counted."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed delivery, ready to be recorded.

    Attributes:
        permanent: the error is one that retrying cannot fix: the delivery fails at once.
        interrupted: the send was abandoned (a stop, a killed sender process): nothing is
            known about it, so it goes back to pending and the attempt is not counted.
        verdict: set by `record`: what became of it.
    """

    claimed: Claimed
    ok: bool
    error: str | None
    target: str
    duration: float
    timed_out: bool = False
    permanent: bool = False
    interrupted: bool = False
    verdict: Verdict | None = None

    @property
    def final(self) -> bool:
        """The delivery is sent or failed for good."""
        return self.verdict in (Verdict.SENT, Verdict.FAILED)


def interrupted(claimed: Claimed, why: str) -> Outcome:
    """The outcome of a claimed delivery whose send was abandoned or never started."""
    return Outcome(claimed, False, why, "", 0.0, interrupted=True)


def claim(conn: Connection, me: str, limit: int, now: dt.datetime | None = None) -> list[Claimed]:
    now = now or utcnow()
    picked = (
        select(Delivery.id)
        .where(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now,
               Delivery.broadcast_id.not_in(select(Broadcast.id).where(Broadcast.state == BroadcastState.SCHEDULED)
                                            .scalar_subquery()))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(picked))
        .values(state=DeliveryState.SENDING, claimed_by=me, claimed_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery.id, Delivery.broadcast_id, Delivery.recipient_id, Delivery.group_link_id,
                   Delivery.channel_id, Delivery.address, Delivery.attempts, Delivery.reminder,
                   Delivery.created_at)
    )
    rows = [Claimed(did, bid, rid, link, channel, address, attempts, reminder, created_at=_aware(created or now))
            for did, bid, rid, link, channel, address, attempts, reminder, created in conn.execute(stmt)]
    rows.sort(key=lambda c: c.id)
    return rows


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def record(conn: Connection, me: str, outcomes: list[Outcome], policy: RetryPolicy,
           now: dt.datetime | None = None) -> tuple[list[Outcome], set[int]]:
    """Write results and their audit entries.

    Returns the outcomes with their verdicts, and the broadcasts touched.
    """
    now = now or utcnow()
    judged: list[Outcome] = []
    sent, retry, failed, requeued = [], [], [], []
    entries: list[Entry] = []
    for o in outcomes:
        c = o.claimed
        if o.interrupted:
            judged.append(replace(o, verdict=Verdict.REQUEUED))
            requeued.append({"_id": c.id})
            continue
        details = {"broadcast": c.broadcast_id, "recipient": c.recipient_id, "group_link": c.group_link_id,
                   "channel": c.channel_id, "address": c.address, "target": o.target, "attempt": c.attempts,
                   "ms": round(o.duration * 1000, 1), "reminder": c.reminder, "by": me}
        if o.ok:
            verdict = Verdict.SENT
            sent.append({"_id": c.id})
        else:
            details["error"] = o.error
            after = GiveUp.PERMANENT if o.permanent else policy.next_attempt(c.attempts, c.created_at, now)
            if isinstance(after, GiveUp):
                verdict = Verdict.FAILED
                details["gave_up"] = after.value
                failed.append({"_id": c.id, "_err": o.error})
            else:
                verdict = Verdict.RETRY
                details["next_attempt"] = after.isoformat(timespec="seconds")
                retry.append({"_id": c.id, "_err": o.error, "_next": after})
        judged.append(replace(o, verdict=verdict))
        entries.append(("dispatcher", f"delivery.{verdict.value}", f"delivery {c.id}", details))
    # Still ours: a claim whose lease ran out may have been recovered and claimed by another dispatcher.
    mine = and_(Delivery.id == bindparam("_id"), Delivery.state == DeliveryState.SENDING, Delivery.claimed_by == me)
    if sent:
        conn.execute(update(Delivery).where(mine).values(
            state=DeliveryState.SENT, sent_at=now, last_error=None), sent)
    if retry:
        conn.execute(update(Delivery).where(mine).values(
            state=DeliveryState.PENDING, last_error=bindparam("_err"), next_attempt_at=bindparam("_next"),
            claimed_by=None), retry)
    if failed:
        conn.execute(update(Delivery).where(mine).values(
            state=DeliveryState.FAILED, last_error=bindparam("_err")), failed)
    if requeued:
        conn.execute(update(Delivery).where(mine).values(
            state=DeliveryState.PENDING, attempts=Delivery.attempts - 1, next_attempt_at=now, claimed_by=None),
            requeued)
        reasons: dict[str, list[int]] = {}
        for o in outcomes:
            if o.interrupted:
                reasons.setdefault(o.error or "interrupted", []).append(o.claimed.id)
        for reason, ids in reasons.items():
            entries.append(("dispatcher", "delivery.requeued", "outbox",
                            {"deliveries": len(ids), "ids": ids, "reason": reason, "by": me}))
    audit.append_many(conn, entries)
    return judged, {o.claimed.broadcast_id for o in outcomes}


def finish_broadcasts(conn: Connection, broadcast_ids: set[int]) -> list[int]:
    """Close broadcasts with nothing left to send: `sent` when every delivery went out, else
    `failed`; returns those finished now."""
    done = []
    for bid in sorted(broadcast_ids):
        left = conn.execute(select(func.count()).where(
            Delivery.broadcast_id == bid, Delivery.state.in_(OPEN_DELIVERY_STATES))).scalar_one()
        if left:
            continue
        counts = dict(conn.execute(select(Delivery.state, func.count()).where(Delivery.broadcast_id == bid)
                                   .group_by(Delivery.state)).all())
        state = BroadcastState.finished(counts.get(DeliveryState.FAILED.value, 0))
        changed = conn.execute(update(Broadcast).where(Broadcast.id == bid, Broadcast.state == BroadcastState.SENDING)
                               .values(state=state, closed_at=utcnow())).rowcount
        if changed:
            audit.append(conn, "dispatcher", "broadcast.completed", f"broadcast {bid}",
                         {**counts, "state": state.value})
            done.append(bid)
    return done


def recover(conn: Connection, me: str, lease_seconds: float) -> int:
    """Put back `sending` rows whose dispatcher is gone (dead pid here, or lease expired)."""
    host, pid, _ = me.split(":")
    stale = utcnow() - dt.timedelta(seconds=lease_seconds)
    owners = conn.execute(select(Delivery.claimed_by).where(Delivery.state == DeliveryState.SENDING)
                          .distinct()).scalars().all()
    dead = [o for o in owners if o and o != me and _is_dead(o, host, int(pid))]
    cond = Delivery.claimed_at < stale
    if dead:
        cond = cond | Delivery.claimed_by.in_(dead)
    # The attempt's result was never recorded: it is not counted (the send may be made again).
    count = conn.execute(update(Delivery).where(Delivery.state == DeliveryState.SENDING, cond)
                         .values(state=DeliveryState.PENDING, claimed_by=None, attempts=Delivery.attempts - 1,
                                 next_attempt_at=utcnow())).rowcount
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


def cancel(session: Session, broadcast_id: int, actor: str, details: dict[str, Any] | None = None) -> int:
    """Stop a broadcast: its pending deliveries are cancelled (in-flight ones finish), and so are
    its automatic reminders and escalation. `details` add to the audit entry's."""
    from console.broadcast.send import existing_broadcast

    b = existing_broadcast(session, broadcast_id)
    result = session.execute(
        update(Delivery).where(Delivery.broadcast_id == broadcast_id, Delivery.state == DeliveryState.PENDING)
        .values(state=DeliveryState.CANCELLED))
    count = cast("CursorResult[Any]", result).rowcount  # an UPDATE's result is a cursor's
    b.state, b.closed_at, b.next_remind_at = BroadcastState.CANCELLED, utcnow(), None
    audit.append(session, actor, "broadcast.cancel", f"broadcast {broadcast_id}",
                 {"cancelled_deliveries": count, **(details or {})})
    return count


def open_work(session: Session, broadcast_id: int | None = None) -> int:
    """Deliveries still pending or sending (of one broadcast, or all)."""
    q = select(func.count()).where(Delivery.state.in_(OPEN_DELIVERY_STATES))
    if broadcast_id is not None:
        q = q.where(Delivery.broadcast_id == broadcast_id)
    return session.scalar(q) or 0
