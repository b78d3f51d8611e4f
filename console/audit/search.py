"""Reading the log page by page with filters, for people (the desktop's audit view) and reports.

Pages go newest first and continue before the last seq seen, so a log of a
million entries is read a page at a time and never loaded whole. Entry times
are canonical ISO text (see console.audit.chain), which sorts as time does, so
a time range is a plain text comparison that uses the index.

How entries name what the incident, broadcast and person filters look for
(every `audit.append`/`append_many` and console.acks.auditbatch caller):

- a broadcast: subject ``broadcast N`` (sends, follow-ups, reminders,
  escalation, cancel, completion, answers, self-reports, link requests) or a
  top-level ``"broadcast": N`` in details (``delivery.*`` entries, whose subject
  is ``delivery N``; ``help.opened``/``help.reopened``);
- an incident: subject ``incident N`` (close, help requests handled/reopened/
  opened), ``"incident": N`` in details (the send of each of its broadcasts), and
  everything naming one of its broadcasts;
- a person: actor (answers are recorded as the person), subject (``contacts.*``
  entries), or any JSON string in details equal to one of their addresses
  (``email``, a delivery's ``address``, an escalation's ``managers``);
  ``"contact": ID`` in details, ``"id": ID`` in ``contacts.*`` entries.

Stored details are canonical JSON without whitespace in both forms the log has
used (legacy and RFC 8785), so these are matched as text (`"broadcast":7,` or
`"broadcast":7}`), which works the same on SQLite and PostgreSQL and never
fails on a tampered row whose details are not JSON. ``delivery.requeued``
entries (subject ``outbox``) name delivery ids only and match no broadcast.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TypeAlias

from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.orm import Session

from console.models import AuditEntry, Broadcast, Contact, Recipient

PAGE = 500
_Query: TypeAlias = "Select[int, str, str, str, str, str, str, str, int]"


@dataclass(frozen=True)
class AuditFilter:
    """What to show; empty fields match everything. Times are timezone-aware."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    actor: str = ""
    action: str = ""
    text: str = ""  # subject or details, e.g. "broadcast 7" or an email address
    incident_id: int | None = None  # entries about the incident or any of its broadcasts
    broadcast_id: int | None = None  # entries about the broadcast (its deliveries and answers too)
    person: str = ""  # an email address, phone, chat address or full name, whole, any case


@dataclass(frozen=True)
class AuditRow:
    seq: int
    time: str
    actor: str
    action: str
    subject: str
    details: str  # canonical JSON text
    prev_hash: str = ""
    hash: str = ""
    canon: int = 0  # console.audit.chain.CANON_*; 0 when not read


def time_text(moment: dt.datetime) -> str:
    """The log's own time format, for comparisons."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _names_number(key: str, number: int) -> ColumnElement[bool]:
    """Details hold `"key": number` (at any depth; the keys used here are only ever top-level)."""
    member = f'"{key}":{int(number)}'
    return or_(AuditEntry.details.like(_like(member + ","), escape="\\"),
               AuditEntry.details.like(_like(member + "}"), escape="\\"))


def _holds_string(value: str) -> ColumnElement[bool]:
    """Details hold the JSON string `value` (as a key or a value), any case."""
    return AuditEntry.details.ilike(_like(json.dumps(value, ensure_ascii=False)), escape="\\")


def _about_broadcasts(ids: list[int]) -> ColumnElement[bool]:
    if not ids:
        return false()
    return or_(AuditEntry.subject.in_([f"broadcast {b}" for b in ids]), *(_names_number("broadcast", b) for b in ids))


def _about_incident(session: Session, incident_id: int) -> ColumnElement[bool]:
    broadcasts = list(session.scalars(select(Broadcast.id).where(Broadcast.incident_id == incident_id)))
    return or_(AuditEntry.subject == f"incident {incident_id}", _names_number("incident", incident_id),
               _about_broadcasts(broadcasts))


def _about_person(session: Session, person: str) -> ColumnElement[bool]:
    """The person as typed, and every address of the contacts and recipients it names."""
    typed = person.strip()
    lowered = typed.lower()
    contacts = list(session.execute(select(Contact.id, Contact.email, Contact.phone, Contact.chat).where(or_(
        func.lower(Contact.email) == lowered, func.lower(Contact.name) == lowered,
        Contact.phone == typed, Contact.chat == typed))))
    emails = set(session.scalars(select(Recipient.email).where(or_(
        func.lower(Recipient.email) == lowered, func.lower(Recipient.name) == lowered)).distinct()))
    if emails:  # a recipient's contact (if it still exists) brings its phone and chat address
        contacts += session.execute(select(Contact.id, Contact.email, Contact.phone, Contact.chat).where(
            func.lower(Contact.email).in_([e.lower() for e in emails]))).all()
    addresses = {typed} | emails | {a for c in contacts for a in (c.email, c.phone, c.chat) if a}
    lowered_all = sorted({a.lower() for a in addresses})
    contact_ids = sorted({c.id for c in contacts})
    return or_(
        func.lower(AuditEntry.actor).in_(lowered_all),
        func.lower(AuditEntry.subject).in_(lowered_all),
        *(_holds_string(a) for a in sorted(addresses)),
        *(_names_number("contact", c) for c in contact_ids),
        *((AuditEntry.action.like("contacts.%") & _names_number("id", c)) for c in contact_ids),
    )


def _filtered(session: Session, stmt: _Query, flt: AuditFilter) -> _Query:
    if flt.since is not None:
        stmt = stmt.where(AuditEntry.time >= time_text(flt.since))
    if flt.until is not None:
        stmt = stmt.where(AuditEntry.time <= time_text(flt.until))
    if flt.actor.strip():
        stmt = stmt.where(AuditEntry.actor.ilike(_like(flt.actor.strip()), escape="\\"))
    if flt.action.strip():
        stmt = stmt.where(AuditEntry.action.ilike(_like(flt.action.strip()), escape="\\"))
    if flt.text.strip():
        pattern = _like(flt.text.strip())
        stmt = stmt.where(or_(AuditEntry.subject.ilike(pattern, escape="\\"),
                              AuditEntry.details.ilike(pattern, escape="\\")))
    if flt.incident_id is not None:
        stmt = stmt.where(_about_incident(session, flt.incident_id))
    if flt.broadcast_id is not None:
        stmt = stmt.where(_about_broadcasts([flt.broadcast_id]))
    if flt.person.strip():
        stmt = stmt.where(_about_person(session, flt.person))
    return stmt


def _select() -> _Query:
    return select(AuditEntry.seq, AuditEntry.time, AuditEntry.actor, AuditEntry.action, AuditEntry.subject,
                  AuditEntry.details, AuditEntry.prev_hash, AuditEntry.hash, AuditEntry.canon)


def search(session: Session, flt: AuditFilter, *, before_seq: int | None = None,
           limit: int = PAGE) -> list[AuditRow]:
    """One page of matching entries, newest first, all with seq < before_seq."""
    stmt = _filtered(session, _select(), flt)
    if before_seq is not None:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    stmt = stmt.order_by(AuditEntry.seq.desc()).limit(limit)
    return [AuditRow(*r) for r in session.execute(stmt)]


def entries_for(session: Session, flt: AuditFilter) -> list[AuditRow]:
    """Every matching entry, oldest first, with its hashes (a report's list; no paging)."""
    stmt = _filtered(session, _select(), flt).order_by(AuditEntry.seq)
    return [AuditRow(*r) for r in session.execute(stmt)]


def actions(session: Session) -> list[str]:
    """The distinct actions in the log, for a filter's choices."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
