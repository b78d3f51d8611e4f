"""Creating a broadcast: the broadcast, its recipients and every delivery in ONE transaction.

The dispatcher does the sending later, from the outbox; nothing here talks to
the network, so a crash can only leave a whole broadcast or none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, literal, select
from sqlalchemy.orm import Session

from console import audit
from console.acks.tokens import new_token
from console.broadcast.audience import Audience, resolve
from console.broadcast.durations import check_duration
from console.broadcast.errors import BroadcastError, BroadcastNotFound
from console.broadcast.options import (
    DEFAULT_OPTIONS,
    SAFETY_CHECK,
    SAFETY_CHECK_HELP,
    clean_options,
    preset_help_options,
)
from console.models import Broadcast, Channel, Contact, Delivery, GroupLink, Incident, Recipient, utcnow
from console.storage.secrets import SecretBox
from console.vocabulary import BroadcastKind, BroadcastState, ChannelKind

SEVERITIES = ("info", "warning", "critical")
KINDS = ("alert", "update", "all_clear")
_CHUNK = 500
DEFAULT_REMIND_MAX = 3
"""Automatic reminders when only the interval is given."""
MAX_REMINDERS = 20


@dataclass(frozen=True)
class BroadcastRequest:
    title: str
    body: str
    groups: list[str] = field(default_factory=list)
    contact_ids: list[int] = field(default_factory=list)
    channels: list[str] | None = None  # names; None = every enabled channel
    severity: str = "info"
    options: list[str] = field(default_factory=lambda: list(DEFAULT_OPTIONS))
    help_options: list[str] | None = None
    """Options that mean "needs help"; None: the preset's flags when `options` is a preset, else none."""
    exercise: bool = False
    incident_id: int | None = None  # None opens a new incident
    kind: str = "alert"
    scheduled_at: dt.datetime | None = None
    """Send at this time (a time without a zone is local); None sends now."""
    remind_every_s: int | None = None
    """Remind the silent every this many seconds (None: no automatic reminders) ..."""
    remind_max: int | None = None
    """... at most this many times (default DEFAULT_REMIND_MAX)."""
    fallback_channel: str | None = None
    """A channel's name: reminders also go out on it from the second one on."""
    escalate_after_s: int | None = None
    """After this many seconds each manager gets one message listing their people without an answer."""


@dataclass(frozen=True)
class SendResult:
    broadcast_id: int
    incident_id: int
    recipients: int
    deliveries: int
    unreachable: list[dict[str, str]]
    scheduled_at: dt.datetime | None = None
    """When it goes out, for a scheduled send (UTC)."""

    def as_json(self) -> dict[str, Any]:
        return {"broadcast_id": self.broadcast_id, "incident_id": self.incident_id, "recipients": self.recipients,
                "deliveries": self.deliveries, "unreachable": self.unreachable,
                "scheduled_at": self.scheduled_at.isoformat(timespec="seconds") if self.scheduled_at else None}


def check_request(req: BroadcastRequest, now: dt.datetime | None = None) -> BroadcastRequest:
    """Reject bad input before the database is touched; returns a cleaned request."""
    title, body = req.title.strip(), req.body.strip()
    if not title:
        raise BroadcastError("--title: a broadcast needs a title")
    if len(title) > 300:
        raise BroadcastError("--title: longer than 300 characters")
    if not body:
        raise BroadcastError("--body: a broadcast needs a body")
    if req.severity not in SEVERITIES:
        raise BroadcastError(f"--severity: {req.severity!r} is not one of {', '.join(SEVERITIES)}")
    if req.kind not in KINDS:
        raise BroadcastError(f"kind {req.kind!r} is not one of {', '.join(KINDS)}")
    helps = req.help_options
    if helps is None:
        helps = list(preset_help_options(req.options or DEFAULT_OPTIONS))
    options, helps = clean_options(req.options, helps)
    if not req.groups and not req.contact_ids:
        raise BroadcastError("--group: choose at least one group or contact")
    return BroadcastRequest(title=title, body=body, groups=list(dict.fromkeys(req.groups)),
                            contact_ids=list(dict.fromkeys(req.contact_ids)), channels=req.channels,
                            severity=req.severity, options=options, help_options=helps, exercise=req.exercise,
                            incident_id=req.incident_id, kind=req.kind, **_check_follow_through(req, now))


def _check_follow_through(req: BroadcastRequest, now: dt.datetime | None) -> dict[str, Any]:
    """The scheduling, reminder and escalation fields, checked; each error names its option."""
    at = req.scheduled_at
    if at is not None:
        at = (at if at.tzinfo is not None else at.astimezone()).astimezone(dt.UTC)
        if at <= (now or utcnow()):
            raise BroadcastError(f"--at: {at.isoformat(timespec='seconds')} is in the past")
        if req.kind == BroadcastKind.ALL_CLEAR:
            raise BroadcastError("--at: an all-clear closes its incident when it is written; send it when it is due")
    every, most = req.remind_every_s, req.remind_max
    if every is None:
        if most is not None:
            raise BroadcastError("--remind-max: needs --remind-every")
        if req.fallback_channel:
            raise BroadcastError("--fallback-channel: carries reminders, so it needs --remind-every")
    else:
        every = check_duration(every, "--remind-every")
        most = DEFAULT_REMIND_MAX if most is None else most
        if not 1 <= most <= MAX_REMINDERS:
            raise BroadcastError(f"--remind-max: must be between 1 and {MAX_REMINDERS}")
    escalate = None if req.escalate_after_s is None else check_duration(req.escalate_after_s, "--escalate-after")
    if req.kind == BroadcastKind.ALL_CLEAR and (every is not None or escalate is not None):
        option = "--remind-every" if every is not None else "--escalate-after"
        raise BroadcastError(f"{option}: an all-clear closes its incident; there is no one left to chase")
    return {"scheduled_at": at, "remind_every_s": every, "remind_max": most,
            "fallback_channel": (req.fallback_channel or "").strip() or None, "escalate_after_s": escalate}


def _fallback_channel_id(session: Session, name: str | None) -> int | None:
    if name is None:
        return None
    channel = session.scalar(select(Channel).where(Channel.name == name))
    if channel is None:
        raise BroadcastError(f"--fallback-channel: no channel named {name!r}")
    if not channel.enabled:
        raise BroadcastError(f"--fallback-channel: channel {name!r} is disabled")
    if channel.kind == ChannelKind.GROUP or not channel.address_field:
        raise BroadcastError(f"--fallback-channel: {name!r} posts to a group; reminders go to people")
    return channel.id


def create_broadcast(session: Session, box: SecretBox, req: BroadcastRequest, actor: str) -> SendResult:
    """Write broadcast, recipients, group links and deliveries, with the audit entry."""
    now = utcnow()
    req = check_request(req, now)
    audience = resolve(session, req.groups, req.contact_ids, req.channels)
    fallback_id = _fallback_channel_id(session, req.fallback_channel)
    incident = _incident(session, req)
    starts = req.scheduled_at or now
    broadcast = Broadcast(
        incident_id=incident.id, kind=req.kind, title=req.title, body=req.body, severity=req.severity,
        options=req.options, help_options=req.help_options or [], exercise=req.exercise,
        state=BroadcastState.SCHEDULED.value if req.scheduled_at else BroadcastState.SENDING.value,
        sender=actor, created_at=now, scheduled_at=req.scheduled_at, remind_every_s=req.remind_every_s,
        remind_max=req.remind_max, reminders_sent=0, fallback_channel_id=fallback_id,
        next_remind_at=starts + dt.timedelta(seconds=req.remind_every_s) if req.remind_every_s else None,
        escalate_after_s=req.escalate_after_s,
        audience={"groups": req.groups, "contacts": req.contact_ids},
        channel_ids=sorted({r.channel_id for _, _, rs in audience.people.values() for r in rs}
                           | {c for _, c in audience.group_posts}),
        unreachable=audience.unreachable,
    )
    session.add(broadcast)
    session.flush()
    deliveries = _write_outbox(session, box, broadcast.id, audience, starts)
    follow: dict[str, Any] = {
        "scheduled_at": req.scheduled_at.isoformat(timespec="seconds") if req.scheduled_at else None,
        "remind_every_s": req.remind_every_s, "remind_max": req.remind_max,
        "fallback_channel": req.fallback_channel, "escalate_after_s": req.escalate_after_s}
    audit.append(session, actor, f"broadcast.{req.kind}", f"broadcast {broadcast.id}", {
        "incident": incident.id, "title": req.title, "severity": req.severity, "options": req.options,
        "help_options": req.help_options or [], "exercise": req.exercise, "groups": req.groups,
        "contacts": req.contact_ids, "channels": broadcast.channel_ids, "recipients": len(audience.people),
        "deliveries": deliveries,
        "unreachable": [u["contact"] for u in audience.unreachable],
        **{k: v for k, v in follow.items() if v is not None},
    })
    return SendResult(broadcast.id, incident.id, len(audience.people), deliveries, audience.unreachable,
                      req.scheduled_at)


def _incident(session: Session, req: BroadcastRequest) -> Incident:
    if req.incident_id is None:
        if req.kind != "alert":
            raise BroadcastError("an update or all-clear belongs to an existing incident")
        incident = Incident(title=req.title, exercise=req.exercise)
        session.add(incident)
        session.flush()
        return incident
    found = session.get(Incident, req.incident_id)
    if found is None:
        raise BroadcastError(f"no incident with id {req.incident_id}")
    if req.kind == "all_clear":
        found.state, found.closed_at = "closed", utcnow()
    return found


def _write_outbox(session: Session, box: SecretBox, broadcast_id: int, audience: Audience,
                  starts: dt.datetime) -> int:
    """Recipients by executemany, then one INSERT … SELECT per personal channel.

    Deliveries wait until `starts` (now, or a scheduled send's time): no dispatcher claims
    them before, and their retry window starts then.

    The per-channel statement picks the same people as audience resolution did
    (a non-empty address field) inside this transaction; doing it in SQL keeps a
    10,000-person broadcast's transaction short, so the first mail leaves sooner.
    """
    conn = session.connection()
    now = starts
    people = list(audience.people.items())
    rows = []
    for contact_id, (name, email, _routes) in people:
        token, digest = new_token()
        rows.append((broadcast_id, contact_id, name, email, digest, box.seal(token), False))
    # Straight to the driver: SQLAlchemy's per-row parameter processing was half of this transaction.
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = ("INSERT INTO recipients (broadcast_id, contact_id, name, email, token_hash, token_sealed, answer_late) "
           f"VALUES ({', '.join([mark] * 7)})")
    for start in range(0, len(rows), _CHUNK):
        conn.exec_driver_sql(sql, rows[start:start + _CHUNK])
    fields = {r.channel_id: r.field for _, _, routes in audience.people.values() for r in routes}
    for channel_id, field_name in sorted(fields.items()):
        address = getattr(Contact, field_name)
        picked = (
            select(literal(broadcast_id), Recipient.id, literal(channel_id), address, literal("pending"),
                   literal(0), literal(False), literal(now, Delivery.next_attempt_at.type),
                   literal(now, Delivery.created_at.type))
            .join(Contact, Contact.id == Recipient.contact_id)
            .where(Recipient.broadcast_id == broadcast_id, address.is_not(None), address != "")
            .order_by(Recipient.id)
        )
        conn.execute(insert(Delivery).from_select(
            ["broadcast_id", "recipient_id", "channel_id", "address", "state", "attempts", "reminder",
             "next_attempt_at", "created_at"], picked))
    count = sum(len(routes) for _, _, routes in audience.people.values())  # the rows just selected
    for group_id, channel_id in audience.group_posts:
        token, digest = new_token()
        link_id = conn.execute(insert(GroupLink).returning(GroupLink.id), {
            "broadcast_id": broadcast_id, "group_id": group_id, "token_hash": digest, "token_sealed": box.seal(token),
        }).scalar_one()
        conn.execute(insert(Delivery), {
            "broadcast_id": broadcast_id, "group_link_id": link_id, "channel_id": channel_id, "state": "pending",
            "attempts": 0, "reminder": False, "next_attempt_at": now, "created_at": now,
        })
        count += 1
    return count


def existing_broadcast(session: Session, broadcast_id: int) -> Broadcast:
    found = session.get(Broadcast, broadcast_id)
    if found is None:
        raise BroadcastNotFound(f"no broadcast with id {broadcast_id}")
    return found


__all__ = ["DEFAULT_OPTIONS", "SAFETY_CHECK", "SAFETY_CHECK_HELP", "BroadcastRequest", "SendResult", "check_request",
           "create_broadcast", "existing_broadcast"]
