"""Help requests worked to closure: an officer marks one handled (with a note), or reopens it.

The answer service opens a request (and reopens a handled one) when a person
answers with a help option, in the same transaction as the answer
(console.acks.answers). Here is the officer's side; each step is audited with
the officer as the actor.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from console import audit
from console.incident.errors import IncidentError, IncidentNotFound
from console.incident.picture import HelpInfo
from console.models import Contact, HelpRequest, Incident, utcnow
from console.vocabulary import HelpState

HANDLED_ACTION = "help.handled"
REOPENED_ACTION = "help.reopened"
NOTE_MAX = 1000
"""Characters at most in an officer's note."""


def existing_incident(session: Session, incident_id: int) -> Incident:
    found = session.get(Incident, incident_id)
    if found is None:
        raise IncidentNotFound(f"no incident with id {incident_id}")
    return found


def person_email(session: Session, who: int | str) -> str:
    """The email of a contact id, or the (normalised) email given; an unknown contact id is an error."""
    if isinstance(who, int) or who.strip().isdigit():
        contact_id = int(who)
        email = session.scalar(select(Contact.email).where(Contact.id == contact_id))
        if email is None:
            raise IncidentError(f"--contact: no contact with id {contact_id}")
        return email
    email = who.strip().lower()
    if "@" not in email:
        raise IncidentError(f"--contact: {who!r} is neither a contact id nor an email address")
    return email


def _request(session: Session, incident_id: int, who: int | str) -> HelpRequest:
    existing_incident(session, incident_id)
    email = person_email(session, who)
    found = session.scalars(select(HelpRequest).where(HelpRequest.incident_id == incident_id,
                                                      HelpRequest.email == email).with_for_update()).first()
    if found is None:
        raise IncidentError(f"--contact: {email} has no help request in incident {incident_id}")
    return found


def _note(note: str | None, *, required: bool) -> str | None:
    text = (note or "").strip()
    if required and not text:
        raise IncidentError("--note: say what was done (a help request is marked handled with a note)")
    if len(text) > NOTE_MAX:
        raise IncidentError(f"--note: longer than {NOTE_MAX} characters")
    return text or None


def handle(session: Session, incident_id: int, who: int | str, note: str, actor: str) -> HelpInfo:
    """Mark the person's open help request handled, with what was done."""
    text = _note(note, required=True)
    req = _request(session, incident_id, who)
    if req.state == HelpState.HANDLED:
        raise IncidentError(f"the help request of {req.email} in incident {incident_id} is already handled "
                            f"(by {req.handled_by}); reopen it first to handle it again")
    now = utcnow()
    req.state, req.handled_at, req.handled_by, req.handled_note = HelpState.HANDLED.value, now, actor, text
    audit.append(session, actor, HANDLED_ACTION, f"incident {incident_id}", {
        "help_request": req.id, "email": req.email, "contact": req.contact_id, "note": text,
        "time": now.isoformat(timespec="seconds")})
    return _info(req)


def reopen(session: Session, incident_id: int, who: int | str, actor: str, note: str | None = None) -> HelpInfo:
    """Open a handled help request again (the person still needs help after all)."""
    text = _note(note, required=False)
    req = _request(session, incident_id, who)
    if req.state == HelpState.OPEN:
        raise IncidentError(f"the help request of {req.email} in incident {incident_id} is already open")
    now = utcnow()
    previous = {"handled_by": req.handled_by, "handled_note": req.handled_note}
    req.state, req.opened_at = HelpState.OPEN.value, now
    req.handled_at = req.handled_by = req.handled_note = None
    audit.append(session, actor, REOPENED_ACTION, f"incident {incident_id}", {
        "help_request": req.id, "email": req.email, "contact": req.contact_id, "note": text, "by": "officer",
        "previous": previous, "time": now.isoformat(timespec="seconds")})
    return _info(req)


def _info(req: HelpRequest) -> HelpInfo:
    return HelpInfo(req.id, HelpState(req.state), _utc(req.opened_at), _utc(req.handled_at) if req.handled_at else None,
                    req.handled_by, req.handled_note)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
