"""Reading the log page by page with filters, for people (the desktop's audit view).

Pages go newest first and continue before the last seq seen, so a log of a
million entries is read a page at a time and never loaded whole. Entry times
are canonical ISO text (see console.audit.chain), which sorts as time does, so
a time range is a plain text comparison that uses the index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from console.models import AuditEntry

PAGE = 500


@dataclass(frozen=True)
class AuditFilter:
    """What to show; empty fields match everything. Times are timezone-aware."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    actor: str = ""
    action: str = ""
    text: str = ""  # subject or details, e.g. "broadcast 7" or an email address


@dataclass(frozen=True)
class AuditRow:
    seq: int
    time: str
    actor: str
    action: str
    subject: str
    details: str  # canonical JSON text


def time_text(moment: dt.datetime) -> str:
    """The log's own time format, for comparisons."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(session: Session, flt: AuditFilter, *, before_seq: int | None = None,
           limit: int = PAGE) -> list[AuditRow]:
    """One page of matching entries, newest first, all with seq < before_seq."""
    stmt = select(AuditEntry.seq, AuditEntry.time, AuditEntry.actor, AuditEntry.action, AuditEntry.subject,
                  AuditEntry.details)
    if before_seq is not None:
        stmt = stmt.where(AuditEntry.seq < before_seq)
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
    stmt = stmt.order_by(AuditEntry.seq.desc()).limit(limit)
    return [AuditRow(*r) for r in session.execute(stmt)]


def actions(session: Session) -> list[str]:
    """The distinct actions in the log, for a filter's choices."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
