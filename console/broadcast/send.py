"""Creating a broadcast: the broadcast, its recipients and every delivery in ONE transaction.

The dispatcher does the sending later, from the outbox; nothing here talks to
the network, so a crash can only leave a whole broadcast or none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, literal, select
from sqlalchemy.orm import Session

from console import audit
from console.acks.tokens import new_token
from console.broadcast.audience import Audience, resolve
from console.broadcast.errors import BroadcastError, BroadcastNotFound
from console.broadcast.options import (
    DEFAULT_OPTIONS,
    SAFETY_CHECK,
    SAFETY_CHECK_HELP,
    clean_options,
    preset_help_options,
)
from console.models import Broadcast, Contact, Delivery, GroupLink, Incident, Recipient, utcnow
from console.storage.secrets import SecretBox

SEVERITIES = ("info", "warning", "critical")
KINDS = ("alert", "update", "all_clear")
_CHUNK = 500


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


@dataclass(frozen=True)
class SendResult:
    broadcast_id: int
    incident_id: int
    recipients: int
    deliveries: int
    unreachable: list[dict[str, str]]

    def as_json(self) -> dict[str, Any]:
        return {"broadcast_id": self.broadcast_id, "incident_id": self.incident_id, "recipients": self.recipients,
                "deliveries": self.deliveries, "unreachable": self.unreachable}


def check_request(req: BroadcastRequest) -> BroadcastRequest:
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
                            incident_id=req.incident_id, kind=req.kind)


def create_broadcast(session: Session, box: SecretBox, req: BroadcastRequest, actor: str) -> SendResult:
    """Write broadcast, recipients, group links and deliveries, with the audit entry."""
    req = check_request(req)
    audience = resolve(session, req.groups, req.contact_ids, req.channels)
    incident = _incident(session, req)
    broadcast = Broadcast(
        incident_id=incident.id, kind=req.kind, title=req.title, body=req.body, severity=req.severity,
        options=req.options, help_options=req.help_options or [], exercise=req.exercise, state="sending",
        sender=actor,
        audience={"groups": req.groups, "contacts": req.contact_ids},
        channel_ids=sorted({r.channel_id for _, _, rs in audience.people.values() for r in rs}
                           | {c for _, c in audience.group_posts}),
        unreachable=audience.unreachable,
    )
    session.add(broadcast)
    session.flush()
    deliveries = _write_outbox(session, box, broadcast.id, audience)
    audit.append(session, actor, f"broadcast.{req.kind}", f"broadcast {broadcast.id}", {
        "incident": incident.id, "title": req.title, "severity": req.severity, "options": req.options,
        "help_options": req.help_options or [], "exercise": req.exercise, "groups": req.groups,
        "contacts": req.contact_ids, "channels": broadcast.channel_ids, "recipients": len(audience.people),
        "deliveries": deliveries,
        "unreachable": [u["contact"] for u in audience.unreachable],
    })
    return SendResult(broadcast.id, incident.id, len(audience.people), deliveries, audience.unreachable)


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


def _write_outbox(session: Session, box: SecretBox, broadcast_id: int, audience: Audience) -> int:
    """Recipients by executemany, then one INSERT … SELECT per personal channel.

    The per-channel statement picks the same people as audience resolution did
    (a non-empty address field) inside this transaction; doing it in SQL keeps a
    10,000-person broadcast's transaction short, so the first mail leaves sooner.
    """
    conn = session.connection()
    now = utcnow()
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
