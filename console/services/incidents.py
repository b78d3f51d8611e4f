"""Incident use cases: the list and the picture of every person, help requests, the guarded close.

Written once for both faces (`crisis-console incident …` and the desktop's
incident view). Each owns its transaction and returns frozen values; the
incident area's errors (IncidentError and its kinds: exit 2) pass through.
A face that wants to ask before closing catches UnsafeClose, which carries the
counts, and calls again with `force=True` and a reason.
"""

from __future__ import annotations

from console.broadcast import auditseal
from console.incident import guard, helprequests, picture
from console.incident.errors import IncidentError, IncidentNotFound, UnsafeClose
from console.incident.guard import CloseCheck
from console.incident.picture import (
    BroadcastRef,
    ChannelDelivery,
    HelpInfo,
    IncidentPicture,
    IncidentSummary,
    PersonRow,
    PictureCounts,
)
from console.storage import Database

__all__ = ["BroadcastRef", "ChannelDelivery", "CloseCheck", "HelpInfo", "IncidentError", "IncidentNotFound",
           "IncidentPicture", "IncidentSummary", "PersonRow", "PictureCounts", "UnsafeClose", "close",
           "close_check", "handle", "incident_list", "incident_picture", "reopen"]


def incident_list(db: Database) -> list[IncidentSummary]:
    """Every incident, newest first, with its people counted by status."""
    with db.read() as session:
        return [p.incident for p in picture.load(session, None, people=False)]


def incident_picture(db: Database, incident_id: int) -> IncidentPicture:
    """The incident, its messages and every person of its audience (see console.incident.picture)."""
    with db.read() as session:
        found = picture.load(session, [incident_id])
    if not found:
        raise IncidentNotFound(f"no incident with id {incident_id}")
    return found[0]


def handle(db: Database, incident_id: int, contact_or_email: int | str, note: str, actor: str) -> HelpInfo:
    """Mark a person's open help request handled (`contact_or_email`: a contact id or an email)."""
    with db.write() as session:
        return helprequests.handle(session, incident_id, contact_or_email, note, actor)


def reopen(db: Database, incident_id: int, contact_or_email: int | str, actor: str,
           note: str | None = None) -> HelpInfo:
    """Open a handled help request again."""
    with db.write() as session:
        return helprequests.reopen(session, incident_id, contact_or_email, actor, note)


def close_check(db: Database, incident_id: int) -> PictureCounts:
    """What closing now would leave behind (open help requests, people unaccounted for), without closing.

    Raises IncidentError when the incident is closed already or does not exist.
    """
    with db.read() as session:
        try:
            return guard.check_close(session, incident_id).counts
        except UnsafeClose:
            (pic,) = picture.load(session, [incident_id], people=False)
            return pic.incident.counts


def close(db: Database, incident_id: int, actor: str, *, force: bool = False, reason: str | None = None) -> CloseCheck:
    """Close the incident without an all-clear; refused (UnsafeClose) while people would be left behind,
    unless forced with a reason. The closer and the reason are stored and audited."""
    with db.write() as session:
        check = guard.check_close(session, incident_id, force=force, reason=reason)
        guard.record_close(session, check, actor, by="close")
    auditseal.seal_quietly(db, f"incident {incident_id} closed")  # a checkpoint the auditors keep
    return check
