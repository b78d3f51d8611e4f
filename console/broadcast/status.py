"""Counts of one broadcast, read from the database (the live views use them too).

The failed deliveries themselves are listed by console.broadcast.failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.broadcast.send import existing_broadcast
from console.models import Delivery, Recipient
from console.vocabulary import AnswerSource, BroadcastState, DeliveryState


@dataclass(frozen=True)
class BroadcastStatus:
    """`state`: sending (deliveries open), sent (every delivery went out), failed (finished, some
    did not go out) or cancelled."""

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
    help_options: list[str] = field(default_factory=list)
    needs_help: int = 0  # people whose answer in force is a help option
    self_reported: int = 0  # people whose answer in force came through a group link (unconfirmed)

    def as_json(self) -> dict[str, Any]:
        return {
            "broadcast_id": self.broadcast_id, "incident_id": self.incident_id, "kind": self.kind,
            "title": self.title, "state": self.state, "exercise": self.exercise, "severity": self.severity,
            "recipients": self.recipients, "sent": self.sent, "failed": self.failed, "pending": self.pending,
            "cancelled": self.cancelled, "acknowledged": self.acknowledged, "late": self.late,
            "answers": self.answers, "unreachable": self.unreachable, "created_at": self.created_at,
            "help_options": self.help_options, "needs_help": self.needs_help, "self_reported": self.self_reported,
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
    late, needs_help, self_reported = session.execute(select(
        func.count().filter(Recipient.answer_late.is_(True)),
        func.count().filter(Recipient.needs_help.is_(True)),
        func.count().filter(Recipient.answer_source == AnswerSource.GROUP.value),
    ).where(Recipient.broadcast_id == broadcast_id)).one()
    answers = {option: by_answer.pop(option, 0) for option in b.options}
    answers.update(by_answer)  # answers to options no longer offered still count
    pending = states.get(DeliveryState.PENDING, 0) + states.get(DeliveryState.SENDING, 0)
    failed = states.get(DeliveryState.FAILED, 0)
    if b.state == BroadcastState.CANCELLED:
        state = BroadcastState.CANCELLED
    else:  # what is true now, even before the dispatcher's next batch closes the broadcast
        state = BroadcastState.SENDING if pending else BroadcastState.finished(failed)
    return BroadcastStatus(
        broadcast_id=b.id, incident_id=b.incident_id, kind=b.kind, title=b.title, state=state.value,
        exercise=b.exercise, severity=b.severity, options=list(b.options), recipients=recipients,
        sent=states.get(DeliveryState.SENT, 0), failed=failed, pending=pending,
        cancelled=states.get(DeliveryState.CANCELLED, 0), acknowledged=sum(answers.values()), late=late,
        answers=answers,
        unreachable=len(b.unreachable or []), created_at=b.created_at.isoformat(timespec="seconds"),
        help_options=list(b.help_options or []), needs_help=needs_help, self_reported=self_reported,
    )
