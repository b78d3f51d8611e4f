"""The guarded close: an incident is not closed over people who still need help or have not answered.

Closing (by the all-clear, or on its own) while help requests are open or
people are unaccounted for needs an explicit, forced close with a reason; the
closer and the reason are stored on the incident and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from console import audit
from console.incident import picture
from console.incident.errors import IncidentError, UnsafeClose
from console.incident.helprequests import existing_incident
from console.incident.picture import PictureCounts
from console.models import utcnow
from console.vocabulary import IncidentState

CLOSE_ACTION = "incident.closed"
REASON_MAX = 1000


@dataclass(frozen=True)
class CloseCheck:
    """What closing the incident now would leave behind, and whether it was forced."""

    incident_id: int
    counts: PictureCounts
    forced: bool
    reason: str | None

    @property
    def blocked(self) -> bool:
        return bool(self.counts.needs_help_open or self.counts.unaccounted)


def check_close(session: Session, incident_id: int, *, force: bool = False, reason: str | None = None) -> CloseCheck:
    """Raise UnsafeClose when people would be left behind and the close is not forced with a reason.

    Raises:
        IncidentNotFound: no such incident.
        IncidentError: it is closed already, or `force` without a reason.
    """
    incident = existing_incident(session, incident_id)
    if incident.state == IncidentState.CLOSED:
        raise IncidentError(f"incident {incident_id} is already closed")
    text = (reason or "").strip() or None
    if force and text is None:
        raise IncidentError("--reason: a forced close needs a reason (it is kept in the audit log)")
    if text is not None and len(text) > REASON_MAX:
        raise IncidentError(f"--reason: longer than {REASON_MAX} characters")
    (pic,) = picture.load(session, [incident_id], people=False)
    result = CloseCheck(incident_id, pic.incident.counts, force, text)
    if result.blocked and not force:
        c = result.counts
        raise UnsafeClose(incident_id, c.needs_help_open, c.no_answer, c.unreachable)
    return result


def record_close(session: Session, check: CloseCheck, actor: str, **details: Any) -> None:
    """Close the incident (if the all-clear has not already), store who and why, and audit it."""
    incident = existing_incident(session, check.incident_id)
    if incident.state != IncidentState.CLOSED or incident.closed_at is None:
        incident.state, incident.closed_at = IncidentState.CLOSED.value, utcnow()
    incident.closed_by = actor
    incident.close_reason = check.reason
    audit.append(session, actor, CLOSE_ACTION, f"incident {check.incident_id}", {
        **details, "forced": check.forced and check.blocked, "reason": check.reason, **check.counts.as_json()})
