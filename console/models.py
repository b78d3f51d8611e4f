"""SQLAlchemy models: the concepts of DESIGN.md as typed tables.

Times are stored as timezone-aware UTC datetimes except in the audit log, whose
time is canonical ISO text so the hash chain never depends on a driver's
datetime round trip.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: DateTime(timezone=True), dict[str, Any]: JSON, list[Any]: JSON}


ALL_GROUP = "all"
"""Built-in group every contact belongs to, so `send --group all` reaches everyone."""


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    chat: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(100))
    manager: Mapped[str | None] = mapped_column(String(320))
    """The email of this person's manager: escalation lists the people who did not answer to them."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    groups: Mapped[list[Group]] = relationship(
        secondary="memberships", back_populates="members", order_by="Group.name"
    )


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    members: Mapped[list[Contact]] = relationship(secondary="memberships", back_populates="groups")
    channels: Mapped[list[Channel]] = relationship(back_populates="group", order_by="Channel.name")


class Membership(Base):
    __tablename__ = "memberships"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_memberships_group", "group_id"),)


class Channel(Base):
    """A delivery route: an Apprise URL, encrypted at rest, masked everywhere else."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # email | sms | chat | group
    address_field: Mapped[str | None] = mapped_column(String(16))  # email | phone | chat
    url_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    url_masked: Mapped[str] = mapped_column(Text)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    rate_per_sec: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    group: Mapped[Group | None] = relationship(back_populates="channels")


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16), default="info")
    options: Mapped[list[Any]] = mapped_column(default=lambda: ["Acknowledge"])
    help_options: Mapped[list[Any]] = mapped_column(default=list)
    """The options (a subset of `options`) that mean "needs help": a typed flag, never a match on words."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Incident(Base):
    """Ties the first alert, its updates and the all-clear together."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(200))
    close_reason: Mapped[str | None] = mapped_column(Text)
    """Why it was closed with help requests open or people unaccounted for (`--force --reason`)."""

    broadcasts: Mapped[list[Broadcast]] = relationship(back_populates="incident", order_by="Broadcast.id")


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(16), default="alert")  # alert | update | all_clear
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16), default="info")
    options: Mapped[list[Any]] = mapped_column(default=lambda: ["Acknowledge"])
    help_options: Mapped[list[Any]] = mapped_column(default=list)
    """The options (a subset of `options`) that mean "needs help"."""
    exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="sending")  # console.vocabulary.BroadcastState
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channel_ids: Mapped[list[Any]] = mapped_column(default=list)
    unreachable: Mapped[list[Any]] = mapped_column(default=list)
    sender: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]
    scheduled_at: Mapped[dt.datetime | None]
    """When a scheduled broadcast goes out (state `scheduled` until then)."""
    remind_every_s: Mapped[int | None] = mapped_column(Integer)
    """Automatic reminders: remind the silent every this many seconds ..."""
    remind_max: Mapped[int | None] = mapped_column(Integer)
    """... at most this many times."""
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_remind_at: Mapped[dt.datetime | None]
    fallback_channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    """Reminders also go out on this channel (from the second reminder on)."""
    escalate_after_s: Mapped[int | None] = mapped_column(Integer)
    """After this many seconds, each manager gets one message listing their people without an answer."""
    escalated_at: Mapped[dt.datetime | None]

    incident: Mapped[Incident] = relationship(back_populates="broadcasts")

    __table_args__ = (
        Index("ix_broadcasts_incident", "incident_id"),
        Index("ix_broadcasts_next_remind", "next_remind_at"),
        Index("ix_broadcasts_state_scheduled", "state", "scheduled_at"),
    )


class Recipient(Base):
    """One contact within one broadcast, with its personal acknowledgement token.

    Only the token's SHA-256 is searchable; the token itself is kept sealed
    (encrypted with the key outside the database) so reminders and a resumed
    dispatcher can write the same link again.
    """

    __tablename__ = "recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    answer: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[dt.datetime | None]
    answer_late: Mapped[bool] = mapped_column(Boolean, default=False)
    answer_source: Mapped[str | None] = mapped_column(String(16))  # console.vocabulary.AnswerSource
    needs_help: Mapped[bool] = mapped_column(Boolean, default=False)
    """The answer in force is one of the broadcast's help options."""
    self_report: Mapped[str | None] = mapped_column(String(200))
    """The latest answer given for this person through a group link (kept even when it was not applied)."""
    self_report_at: Mapped[dt.datetime | None]
    link_requested_at: Mapped[dt.datetime | None]
    """When the group page last queued this person's personal link (at most one every few minutes)."""
    opened_at: Mapped[dt.datetime | None]
    answer_note: Mapped[str | None] = mapped_column(String(500))
    """The short text the person added to their answer ("Where are you? What do you need?")."""

    __table_args__ = (
        Index("ix_recipients_broadcast", "broadcast_id"),
        Index("ix_recipients_broadcast_email", "broadcast_id", "email"),
    )


class HelpRequest(Base):
    """A person of an incident who answered "needs help": open until an officer marks it handled."""

    __tablename__ = "help_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(320))
    """Who, across the incident's broadcasts (a person is one email within an incident)."""
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id", ondelete="SET NULL"))
    """The answer that opened (or last reopened) it."""
    state: Mapped[str] = mapped_column(String(16), default="open", server_default="open")  # HelpState
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[dt.datetime | None]
    handled_by: Mapped[str | None] = mapped_column(String(200))
    handled_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("incident_id", "email", name="uq_help_requests_incident_email"),
        Index("ix_help_requests_incident_state", "incident_id", "state"),
    )


class GroupLink(Base):
    """The group link of one group post (`/g/{token}`): answers need a work email."""

    __tablename__ = "group_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_group_links_broadcast", "broadcast_id"),)


class Delivery(Base):
    """One (recipient or group post, channel) pair in the outbox."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"))
    group_link_id: Mapped[int | None] = mapped_column(ForeignKey("group_links.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    address: Mapped[str | None] = mapped_column(String(320))
    reminder: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|failed|cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[dt.datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)
    """Set by every insert and update (Core statements too): live views read what changed since
    their last read instead of every delivery (console.services.live.load_changes)."""

    __table_args__ = (
        Index("ix_deliveries_state_next", "state", "next_attempt_at"),
        Index("ix_deliveries_broadcast_state", "broadcast_id", "state"),
        Index("ix_deliveries_recipient", "recipient_id"),
        Index("ix_deliveries_broadcast_changed", "broadcast_id", "changed_at"),
    )


class AuditEntry(Base):
    """Append-only, hash-chained record of every action (see console.audit)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # the entry's canonical form (console.audit.chain): 2 = RFC 8785; 1 = before it
    canon: Mapped[int] = mapped_column(SmallInteger, server_default="1")

    __table_args__ = (
        Index("ix_audit_action", "action"),
        Index("ix_audit_time", "time"),
    )


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


__all__ = [
    "ALL_GROUP",
    "AuditEntry",
    "Base",
    "Broadcast",
    "Channel",
    "Contact",
    "Delivery",
    "Group",
    "GroupLink",
    "Incident",
    "Membership",
    "Recipient",
    "Setting",
    "Template",
    "utcnow",
]
