"""Counts of one broadcast, read from the database (the live views use them too).

The failed deliveries themselves are listed by console.broadcast.failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select, union_all
from sqlalchemy.orm import Session

from console.broadcast.send import existing_broadcast
from console.models import Delivery, GroupLink, Membership, Recipient
from console.vocabulary import OPEN_DELIVERY_STATES, AnswerSource, BroadcastState, DeliveryState


@dataclass(frozen=True)
class PeopleCounts:
    """Each recipient once, however many messages they were sent (channels, reminders).

    A person is *reached* when at least one of their deliveries was sent (a group post
    of a group they are in counts); *pending* when none was sent yet and one is still
    pending or sending; *failed* when none was sent, none is left and one failed;
    *cancelled* when none was sent and the rest was cancelled (or there was none).
    """

    total: int = 0
    reached: int = 0
    pending: int = 0
    failed: int = 0

    @property
    def cancelled(self) -> int:
        return self.total - self.reached - self.pending - self.failed

    @property
    def not_reached(self) -> int:
        return self.total - self.reached

    def as_json(self) -> dict[str, int]:
        return {"total": self.total, "reached": self.reached, "pending": self.pending, "failed": self.failed,
                "cancelled": self.cancelled}


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
    people: PeopleCounts = field(default_factory=PeopleCounts)
    """`sent`, `failed`, `pending` and `cancelled` count deliveries (messages); this counts people."""

    @property
    def messages(self) -> int:
        return self.sent + self.failed + self.pending + self.cancelled

    def as_json(self) -> dict[str, Any]:
        return {
            "broadcast_id": self.broadcast_id, "incident_id": self.incident_id, "kind": self.kind,
            "title": self.title, "state": self.state, "exercise": self.exercise, "severity": self.severity,
            "recipients": self.recipients, "sent": self.sent, "failed": self.failed, "pending": self.pending,
            "cancelled": self.cancelled, "acknowledged": self.acknowledged, "late": self.late,
            "answers": self.answers, "unreachable": self.unreachable, "created_at": self.created_at,
            "help_options": self.help_options, "needs_help": self.needs_help, "self_reported": self.self_reported,
            "people": self.people.as_json(), "messages": self.messages,
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
    if b.state in (BroadcastState.CANCELLED, BroadcastState.SCHEDULED):
        state = BroadcastState(b.state)
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
        people=people_counts(session, broadcast_id, recipients),
    )


def people_counts(session: Session, broadcast_id: int, recipients: int) -> PeopleCounts:
    """Per person, in one grouped query: their personal deliveries and the group posts to their groups
    (joined only when the broadcast has group posts: that join costs as much as the rest)."""
    sent = case((Delivery.state == DeliveryState.SENT, 1), else_=0)
    open_ = case((Delivery.state.in_(OPEN_DELIVERY_STATES), 1), else_=0)
    failed = case((Delivery.state == DeliveryState.FAILED, 1), else_=0)
    personal = (select(Delivery.recipient_id.label("rid"), sent.label("s"), open_.label("o"), failed.label("f"))
                .where(Delivery.broadcast_id == broadcast_id, Delivery.recipient_id.is_not(None)))
    posted = (select(Recipient.id.label("rid"), sent.label("s"), open_.label("o"), failed.label("f"))
              .join(Membership, Membership.contact_id == Recipient.contact_id)
              .join(GroupLink, (GroupLink.group_id == Membership.group_id) & (GroupLink.broadcast_id == broadcast_id))
              .join(Delivery, Delivery.group_link_id == GroupLink.id)
              .where(Recipient.broadcast_id == broadcast_id))
    has_posts = session.scalar(select(GroupLink.id).where(GroupLink.broadcast_id == broadcast_id).limit(1))
    both = (union_all(personal, posted) if has_posts is not None else personal).subquery()
    per = (select(func.max(both.c.s).label("s"), func.max(both.c.o).label("o"), func.max(both.c.f).label("f"))
           .group_by(both.c.rid).subquery())
    reached, pending, failed_people = session.execute(select(
        func.count().filter(per.c.s == 1),
        func.count().filter((per.c.s == 0) & (per.c.o == 1)),
        func.count().filter((per.c.s == 0) & (per.c.o == 0) & (per.c.f == 1)),
    ).select_from(per)).one()
    return PeopleCounts(recipients, reached, pending, failed_people)
