"""Helpers for the incident tests: an alert and its follow-ups through the services, answers
through the answer service's writer, deliveries marked as the dispatcher would."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, update

from console.acks.recorder import AnswerRequest, GroupCommitRecorder
from console.models import Delivery, Recipient, utcnow
from console.services import broadcasts
from console.services.broadcasts import BroadcastRequest, SendResult
from console.storage import Database
from console.vocabulary import AnswerSource, BroadcastKind, DeliveryState
from tests.helpers.gui import ACTOR

SAFETY = ["I'm safe", "I need help"]


def alert(db: Database, groups: tuple[str, ...] = ("all",), title: str = "Fire in building B",
          **extra: object) -> SendResult:
    """A safety check (I'm safe / I need help) to `groups`."""
    req = BroadcastRequest(title=title, body="Leave by the nearest exit.", groups=list(groups),
                           severity="critical", options=list(SAFETY), **extra)  # type: ignore[arg-type]
    return broadcasts.send(db, req, ACTOR)


def follow_up(db: Database, broadcast_id: int, kind: BroadcastKind, *, force: bool = False,
              reason: str | None = None) -> SendResult:
    """An update (the same answers) or the all-clear to the audience of `broadcast_id`."""
    base = broadcasts.follow_up_base(db, broadcast_id)
    req = broadcasts.follow_up_request(base, kind, "Update" if kind is BroadcastKind.UPDATE else "All clear",
                                       "Stay outside." if kind is BroadcastKind.UPDATE else "Back to work.")
    if kind is BroadcastKind.UPDATE:
        req = replace(req, options=list(SAFETY), help_options=None)
    return broadcasts.send(db, req, ACTOR, force=force, reason=reason)


def recipient_id(db: Database, broadcast_id: int, email: str) -> int:
    with db.read() as session:
        found = session.scalar(select(Recipient.id).where(Recipient.broadcast_id == broadcast_id,
                                                          Recipient.email == email))
    assert found is not None, f"{email} is no recipient of broadcast {broadcast_id}"
    return found


def answer(db: Database, broadcast_id: int, email: str, text: str, note: str | None = None,
           source: AnswerSource = AnswerSource.PERSONAL) -> None:
    """Record an answer as the answer service does: through its writer, committed before returning."""
    rid = recipient_id(db, broadcast_id, email)
    recorder = GroupCommitRecorder(db)
    recorder.start()
    try:
        recorder.record(AnswerRequest(rid, text, "192.0.2.1", source, note))
    finally:
        recorder.stop()


def deliver(db: Database, broadcast_id: int, state: DeliveryState, emails: tuple[str, ...] | None = None) -> None:
    """Mark the personal deliveries of `broadcast_id` (to `emails`, or all) as the dispatcher would."""
    with db.write() as session:
        query = select(Recipient.id).where(Recipient.broadcast_id == broadcast_id)
        if emails is not None:
            query = query.where(Recipient.email.in_(emails))
        ids = list(session.scalars(query))
        values: dict[str, object] = {"state": state.value, "attempts": 1}
        if state is DeliveryState.SENT:
            values["sent_at"] = utcnow()
        if state is DeliveryState.FAILED:
            values["last_error"] = "SMTP 550: mailbox unavailable"
        session.execute(update(Delivery).where(Delivery.recipient_id.in_(ids)).values(**values))
