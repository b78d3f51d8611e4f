"""Broadcast use cases: send, follow up (update, all-clear), remind, cancel, status, failures.

Written once for both faces: `crisis-console send/remind/cancel/status` and the
desktop's compose page and dashboard buttons call these. Each owns its
transaction and returns frozen values; the domain's errors (BroadcastError,
BroadcastNotFound: exit 2) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.broadcast import auditseal, outbox, reminders
from console.broadcast import failures as _failures
from console.broadcast.errors import BroadcastError, BroadcastNotFound
from console.broadcast.failures import ChannelFailures, FailedDelivery
from console.broadcast.options import DEFAULT_OPTIONS, SAFETY_CHECK, SAFETY_CHECK_HELP
from console.broadcast.send import BroadcastRequest, SendResult, check_request, create_broadcast
from console.broadcast.status import BroadcastStatus, broadcast_status
from console.incident import guard as close_guard
from console.incident.guard import CloseCheck
from console.models import Broadcast, Channel, Delivery, Incident
from console.storage import Database
from console.vocabulary import OPEN_DELIVERY_STATES, BroadcastKind, IncidentState, Severity

__all__ = ["DEFAULT_OPTIONS", "BroadcastRequest", "BroadcastStatus", "ChannelFailures", "FailedDelivery",
           "FailureReport", "FollowUpBase", "Reminded", "SendResult", "answer_options", "cancel", "check",
           "failure_report", "failures", "follow_up_base", "follow_up_request", "remind", "send", "status", "unsent"]


@dataclass(frozen=True)
class Reminded:
    """What a reminder queued; deliveries with an id above `after_id` are the reminders' (and those
    still waiting from an earlier reminder, which are not queued again: `skipped` people)."""

    people: int
    deliveries: int
    after_id: int
    skipped: int = 0


@dataclass(frozen=True)
class FailureReport:
    """The failed deliveries of a broadcast, and the same counted per channel (secrets masked)."""

    failed: tuple[FailedDelivery, ...]
    channels: tuple[ChannelFailures, ...]


@dataclass(frozen=True)
class FollowUpBase:
    """What an update or all-clear inherits from the broadcast it follows."""

    incident_id: int
    title: str
    severity: Severity
    exercise: bool
    groups: tuple[str, ...]
    contact_ids: tuple[int, ...]
    channels: tuple[str, ...]
    """The broadcast's channels that are still enabled."""


def answer_options(options: Sequence[str] = (), help_options: Sequence[str] = (), *,
                   safety_check: bool = False) -> tuple[list[str], list[str]]:
    """The answer options and the "needs help" ones of a send: the safety-check preset, the given
    options plus the help options not among them, or the default (Acknowledge)."""
    if safety_check and (options or help_options):
        raise BroadcastError("--safety-check and --option/--help-option cannot be used together")
    if safety_check:
        return list(SAFETY_CHECK), list(SAFETY_CHECK_HELP)
    given = list(options) or ([] if help_options else list(DEFAULT_OPTIONS))
    return given + [h for h in help_options if h not in given], list(help_options)


def check(req: BroadcastRequest) -> BroadcastRequest:
    """Reject bad input before anything is written; the cleaned request (pure: any thread may call it)."""
    return check_request(req)


def send(db: Database, req: BroadcastRequest, actor: str, *, force: bool = False,
         reason: str | None = None) -> SendResult:
    """Check the request, then write the broadcast and its whole outbox in one transaction.

    The all-clear closes its incident, so it is refused (console.incident.errors.UnsafeClose, with the
    counts) while help requests are open or people have not answered, unless `force` with a `reason`;
    the closer and the reason are stored on the incident and audited (console.incident.guard).
    """
    req = check_request(req)
    box = db.secrets  # before the write: loading the key may write its check value
    with db.write() as session:
        closing = _closing(session, req, force, reason)
        result = create_broadcast(session, box, req, actor)
        if closing is not None:
            close_guard.record_close(session, closing, actor, by=BroadcastKind.ALL_CLEAR.value,
                                     broadcast=result.broadcast_id)
    if closing is not None:  # the incident closed: a checkpoint the auditors keep
        auditseal.seal_quietly(db, f"incident {req.incident_id} closed by broadcast {result.broadcast_id}")
    return result


def _closing(session: Session, req: BroadcastRequest, force: bool, reason: str | None) -> CloseCheck | None:
    """The guard's verdict on an all-clear for an open incident (None: nothing is closed by this send)."""
    if req.kind != BroadcastKind.ALL_CLEAR or req.incident_id is None:
        return None
    state = session.scalar(select(Incident.state).where(Incident.id == req.incident_id))
    if state is None or state == IncidentState.CLOSED:  # create_broadcast words the first; the second is closed
        return None
    return close_guard.check_close(session, req.incident_id, force=force, reason=reason)


def follow_up_base(db: Database, broadcast_id: int) -> FollowUpBase:
    """The audience and channels of a broadcast, for an update or all-clear in its incident."""
    with db.read() as session:
        b = session.get(Broadcast, broadcast_id)
        if b is None:
            raise BroadcastNotFound(f"no broadcast with id {broadcast_id}")
        names = tuple(session.scalars(select(Channel.name).where(Channel.id.in_(b.channel_ids or [-1]),
                                                                 Channel.enabled.is_(True))))
        incident = b.incident
        audience = b.audience or {}
        return FollowUpBase(incident.id, incident.title, Severity(b.severity), bool(b.exercise),
                            tuple(audience.get("groups", [])), tuple(int(c) for c in audience.get("contacts", [])),
                            names)


def follow_up_request(base: FollowUpBase, kind: BroadcastKind, title: str, body: str) -> BroadcastRequest:
    """A checked request for an update (same severity) or all-clear (info) to `base`'s audience."""
    if kind is BroadcastKind.ALERT:
        raise BroadcastError("a follow-up is an update or an all-clear")
    return check_request(BroadcastRequest(
        title=title, body=body, groups=list(base.groups), contact_ids=list(base.contact_ids),
        channels=list(base.channels) or None,
        severity=base.severity if kind is BroadcastKind.UPDATE else Severity.INFO,
        exercise=base.exercise, incident_id=base.incident_id, kind=kind))


def remind(db: Database, broadcast_id: int, actor: str) -> Reminded:
    """Queue reminders (same personal links) for every recipient who has not answered."""
    with db.write() as session:
        before = session.scalar(select(func.max(Delivery.id)).where(Delivery.broadcast_id == broadcast_id)) or 0
        queued = reminders.remind(session, broadcast_id, actor)
        if queued.skipped:  # their earlier reminders are still to go out: report on those too
            waiting = session.scalar(select(func.min(Delivery.id)).where(
                Delivery.broadcast_id == broadcast_id, Delivery.reminder.is_(True),
                Delivery.state.in_(OPEN_DELIVERY_STATES)))
            before = min(before, (waiting or before + 1) - 1)
    return Reminded(queued.people, queued.deliveries, before, queued.skipped)


def cancel(db: Database, broadcast_id: int, actor: str) -> int:
    """Cancel the pending deliveries of a broadcast (those in flight finish); how many were stopped."""
    with db.write() as session:
        return outbox.cancel(session, broadcast_id, actor)


def status(db: Database, broadcast_id: int) -> BroadcastStatus:
    """Delivery and answer counts of a broadcast."""
    with db.read() as session:
        return broadcast_status(session, broadcast_id)


def unsent(db: Database, broadcast_id: int) -> int:
    """Deliveries of the broadcast still pending or sending."""
    with db.read() as session:
        return outbox.open_work(session, broadcast_id)


def failures(db: Database, broadcast_id: int) -> list[FailedDelivery]:
    """The deliveries that failed for good, oldest first, errors scrubbed of secrets."""
    box = db.secrets
    with db.read() as session:
        return _failures.failed_deliveries(session, broadcast_id, box=box)


def failure_report(db: Database, broadcast_id: int, after_id: int = 0) -> FailureReport:
    """Failed deliveries (with an id above `after_id`) and their count and last error per channel."""
    box = db.secrets
    with db.read() as session:
        failed = _failures.failed_deliveries(session, broadcast_id, box=box, after_id=after_id)
        channels = _failures.by_channel(session, failed, box)
    return FailureReport(tuple(failed), tuple(channels))
