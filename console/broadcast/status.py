"""Counts of one broadcast, read from the database (the live views use them too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.broadcast.send import existing_broadcast
from console.models import Delivery, Recipient


@dataclass(frozen=True)
class BroadcastStatus:
    broadcast_id: int
    incident_id: int
    kind: str
    title: str
    state: str
    exercise: bool
    severity: str
    options: list[str]
    recipients: int
    sent: int
    failed: int
    pending: int
    cancelled: int
    acknowledged: int
    late: int
    answers: dict[str, int] = field(default_factory=dict)
    unreachable: int = 0
    created_at: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "broadcast_id": self.broadcast_id, "incident_id": self.incident_id, "kind": self.kind,
            "title": self.title, "state": self.state, "exercise": self.exercise, "severity": self.severity,
            "recipients": self.recipients, "sent": self.sent, "failed": self.failed, "pending": self.pending,
            "cancelled": self.cancelled, "acknowledged": self.acknowledged, "late": self.late,
            "answers": self.answers, "unreachable": self.unreachable, "created_at": self.created_at,
        }


def broadcast_status(session: Session, broadcast_id: int) -> BroadcastStatus:
    b = existing_broadcast(session, broadcast_id)
    states = dict(session.execute(
        select(Delivery.state, func.count()).where(Delivery.broadcast_id == broadcast_id).group_by(Delivery.state)
    ).all())
    recipients = session.scalar(select(func.count()).where(Recipient.broadcast_id == broadcast_id)) or 0
    by_answer = dict(session.execute(
        select(Recipient.answer, func.count()).where(Recipient.broadcast_id == broadcast_id,
                                                     Recipient.answer.is_not(None)).group_by(Recipient.answer)
    ).all())
    late = session.scalar(select(func.count()).where(Recipient.broadcast_id == broadcast_id,
                                                     Recipient.answer_late.is_(True))) or 0
    answers = {option: by_answer.pop(option, 0) for option in b.options}
    answers.update(by_answer)  # answers to options no longer offered still count
    pending = states.get("pending", 0) + states.get("sending", 0)
    state = b.state if b.state == "cancelled" else ("sending" if pending else "sent")
    return BroadcastStatus(
        broadcast_id=b.id, incident_id=b.incident_id, kind=b.kind, title=b.title, state=state,
        exercise=b.exercise, severity=b.severity, options=list(b.options), recipients=recipients,
        sent=states.get("sent", 0), failed=states.get("failed", 0), pending=pending,
        cancelled=states.get("cancelled", 0), acknowledged=sum(answers.values()), late=late, answers=answers,
        unreachable=len(b.unreachable or []), created_at=b.created_at.isoformat(timespec="seconds"),
    )
