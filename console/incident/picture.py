"""The incident picture: every person of an incident and where they stand across all its messages.

A person is one email within an incident; the audience is the union over the
incident's broadcasts (their recipients, and the people no channel could reach,
who are listed on each broadcast but are no recipients). Where someone stands:

- *needs help* while a help request of theirs is open, or their latest answer is
  a help option (then with the request's state, open or handled);
- *safe* when their latest answer, on any message of the incident, is not a
  help option and no request of theirs is open ("I'm safe" on the update settles
  the alert);
- *no answer* when they have not answered and a channel reached them (or still may);
- *unreachable* when they have not answered and no channel reached them.

Read in a handful of queries whatever the size (no query per person): 10,000
people cost a few aggregate reads, fetched 500 rows at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from console.models import Broadcast, Channel, Contact, Delivery, HelpRequest, Incident, Recipient
from console.vocabulary import AnswerSource, BroadcastKind, DeliveryState, HelpState, IncidentState, PersonStatus

_FETCH = 500
_Query = Select[*tuple[Any, ...]]
_ORDER = {PersonStatus.NEEDS_HELP: 0, PersonStatus.UNREACHABLE: 2, PersonStatus.NO_ANSWER: 3, PersonStatus.SAFE: 4}


@dataclass(frozen=True)
class ChannelDelivery:
    """How one channel fared for a person across the incident: `state` is the best of their
    deliveries on it (sent, else sending, else pending, else failed, else cancelled)."""

    channel: str
    state: DeliveryState
    deliveries: int

    def as_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "state": self.state.value, "deliveries": self.deliveries}


@dataclass(frozen=True)
class HelpInfo:
    """A person's help request in the incident (console.models.HelpRequest)."""

    id: int
    state: HelpState
    opened_at: dt.datetime
    handled_at: dt.datetime | None
    handled_by: str | None
    handled_note: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state.value, "opened_at": _iso(self.opened_at),
                "handled_at": _iso(self.handled_at), "handled_by": self.handled_by,
                "handled_note": self.handled_note}


@dataclass(frozen=True)
class PersonRow:
    """One person of the incident.

    `answer`, `answered_at`, `broadcast_id`, `source` and `late` describe their latest answer on
    any of the incident's messages; `note` is the newest note they gave with an answer.
    """

    email: str
    name: str
    contact_id: int | None
    phone: str | None
    status: PersonStatus
    answer: str | None
    answered_at: dt.datetime | None
    broadcast_id: int | None
    source: AnswerSource | None
    late: bool
    note: str | None
    help: HelpInfo | None
    channels: tuple[ChannelDelivery, ...]

    @property
    def help_open(self) -> bool:
        """Needs help and nobody has marked it handled yet."""
        return self.status is PersonStatus.NEEDS_HELP and (self.help is None or self.help.state is HelpState.OPEN)

    def as_json(self) -> dict[str, Any]:
        return {"email": self.email, "name": self.name, "contact_id": self.contact_id, "phone": self.phone,
                "status": self.status.value, "answer": self.answer, "answered_at": _iso(self.answered_at),
                "broadcast_id": self.broadcast_id, "source": self.source.value if self.source else None,
                "late": self.late, "note": self.note, "help": self.help.as_json() if self.help else None,
                "channels": [c.as_json() for c in self.channels]}


@dataclass(frozen=True)
class PictureCounts:
    """People (never deliveries) per status; needs help split by the request's state."""

    people: int = 0
    needs_help_open: int = 0
    needs_help_handled: int = 0
    safe: int = 0
    no_answer: int = 0
    unreachable: int = 0

    @property
    def needs_help(self) -> int:
        return self.needs_help_open + self.needs_help_handled

    @property
    def unaccounted(self) -> int:
        """People without an answer, reached or not."""
        return self.no_answer + self.unreachable

    def as_json(self) -> dict[str, int]:
        return {"people": self.people, "needs_help_open": self.needs_help_open,
                "needs_help_handled": self.needs_help_handled, "safe": self.safe, "no_answer": self.no_answer,
                "unreachable": self.unreachable}


@dataclass(frozen=True)
class BroadcastRef:
    """One message of the incident (per-message detail is console.services.live's)."""

    id: int
    kind: BroadcastKind
    title: str
    state: str
    created_at: dt.datetime
    recipients: int

    def as_json(self) -> dict[str, Any]:
        return {"broadcast_id": self.id, "kind": self.kind.value, "title": self.title, "state": self.state,
                "created_at": _iso(self.created_at), "recipients": self.recipients}


@dataclass(frozen=True)
class IncidentSummary:
    id: int
    title: str
    state: IncidentState
    exercise: bool
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    closed_by: str | None
    close_reason: str | None
    messages: int
    """How many broadcasts (alert, updates, all-clear) the incident has."""
    counts: PictureCounts

    def as_json(self) -> dict[str, Any]:
        return {"incident_id": self.id, "title": self.title, "state": self.state.value, "exercise": self.exercise,
                "opened_at": _iso(self.opened_at), "closed_at": _iso(self.closed_at), "closed_by": self.closed_by,
                "close_reason": self.close_reason, "messages": self.messages, "counts": self.counts.as_json()}


@dataclass(frozen=True)
class IncidentPicture:
    """The incident, its messages in the order they were sent, and its people sorted needs-help first
    (open before handled), then unreachable, no answer, safe; by name within each."""

    incident: IncidentSummary
    broadcasts: tuple[BroadcastRef, ...]
    people: tuple[PersonRow, ...]

    def as_json(self) -> dict[str, Any]:
        data = self.incident.as_json()
        data["broadcasts"] = [b.as_json() for b in self.broadcasts]
        data["people"] = [p.as_json() for p in self.people]
        return data


@dataclass
class _Person:
    """What is gathered for one person while the rows stream in."""

    email: str
    name: str
    contact_id: int | None = None
    phone: str | None = None
    latest: tuple[Any, ...] | None = None  # (answered_at, recipient id, answer, broadcast, source, late, needs_help)
    note: tuple[dt.datetime, str] | None = None
    reachable: bool = False
    channels: dict[int, list[int]] = field(default_factory=dict)  # channel id -> [sent, sending, open, failed, n]


def load(session: Session, incident_ids: Sequence[int] | None = None, *,
         people: bool = True) -> list[IncidentPicture]:
    """The pictures of `incident_ids` (None: every incident, newest first); `people=False` keeps only
    the counts (the rows are still read: the counts come from them)."""
    query = select(Incident).order_by(Incident.id.desc())
    if incident_ids is not None:
        query = query.where(Incident.id.in_(list(incident_ids)))
    incidents = list(session.scalars(query))
    if not incidents:
        return []
    ids = [i.id for i in incidents]
    broadcasts = session.execute(
        select(Broadcast.id, Broadcast.incident_id, Broadcast.kind, Broadcast.title, Broadcast.state,
               Broadcast.created_at, Broadcast.unreachable)
        .where(Broadcast.incident_id.in_(ids)).order_by(Broadcast.id)).all()
    incident_of = {b.id: b.incident_id for b in broadcasts}
    persons: dict[int, dict[str, _Person]] = {i: {} for i in ids}
    recipients_of: dict[int, tuple[int, str]] = {}  # recipient id -> (incident, email)
    per_broadcast: dict[int, int] = {}
    for row in _fetch(session, _recipients(list(incident_of))):
        incident = incident_of[row.broadcast_id]
        per_broadcast[row.broadcast_id] = per_broadcast.get(row.broadcast_id, 0) + 1
        recipients_of[row.id] = (incident, row.email)
        person = persons[incident].get(row.email)
        if person is None:
            person = persons[incident][row.email] = _Person(row.email, row.name)
        _take(person, row)
    delivered: set[int] = set()
    for row in _fetch(session, _deliveries(list(incident_of))):
        incident, email = recipients_of[row.recipient_id]
        person = persons[incident][email]
        counts = [int(row.sent or 0), int(row.sending or 0), int(row.open or 0), int(row.failed or 0), int(row.n)]
        kept = person.channels.setdefault(row.channel_id, [0, 0, 0, 0, 0])
        person.channels[row.channel_id] = [a + b for a, b in zip(kept, counts, strict=True)]
        delivered.add(row.recipient_id)
        if counts[0] or counts[1] or counts[2]:
            person.reachable = True
    for rid, (incident, email) in recipients_of.items():
        if rid not in delivered:  # a recipient only through a group post: the post's link is their way in
            persons[incident][email].reachable = True
    _add_unreachable(session, broadcasts, persons)
    helps = _help_requests(session, ids)
    channels = dict(session.execute(select(Channel.id, Channel.name)).all())
    refs: dict[int, list[BroadcastRef]] = {i: [] for i in ids}
    for b in broadcasts:
        refs[b.incident_id].append(BroadcastRef(b.id, BroadcastKind(b.kind), b.title, b.state, _utc(b.created_at),
                                                per_broadcast.get(b.id, 0)))
    pictures = []
    for inc in incidents:
        rows = sorted((_row(p, helps.get((inc.id, p.email)), channels) for p in persons[inc.id].values()),
                      key=_sort_key)
        summary = IncidentSummary(
            inc.id, inc.title, IncidentState(inc.state), bool(inc.exercise), _utc(inc.opened_at),
            _utc(inc.closed_at) if inc.closed_at else None, inc.closed_by, inc.close_reason, len(refs[inc.id]),
            count(rows))
        pictures.append(IncidentPicture(summary, tuple(refs[inc.id]), tuple(rows) if people else ()))
    return pictures


def count(rows: Iterable[PersonRow]) -> PictureCounts:
    tally = {"people": 0, "needs_help_open": 0, "needs_help_handled": 0, "safe": 0, "no_answer": 0,
             "unreachable": 0}
    for r in rows:
        tally["people"] += 1
        if r.status is PersonStatus.NEEDS_HELP:
            tally["needs_help_open" if r.help_open else "needs_help_handled"] += 1
        else:
            tally[r.status.value] += 1
    return PictureCounts(**tally)


def _recipients(broadcast_ids: list[int]) -> _Query:
    return (select(Recipient.id, Recipient.broadcast_id, Recipient.email, Recipient.name, Recipient.contact_id,
                   Recipient.answer, Recipient.answered_at, Recipient.answer_source, Recipient.answer_late,
                   Recipient.needs_help, Recipient.answer_note, Contact.phone)
            .outerjoin(Contact, Contact.id == Recipient.contact_id)
            .where(Recipient.broadcast_id.in_(broadcast_ids or [-1])).order_by(Recipient.id))


_OPEN = Delivery.state.in_((DeliveryState.PENDING.value, DeliveryState.SENDING.value))


def _deliveries(broadcast_ids: list[int]) -> _Query:
    """Personal deliveries per (recipient, channel), counted by state in the database."""
    return (select(Delivery.recipient_id, Delivery.channel_id,
                   func.sum(case((Delivery.state == DeliveryState.SENT.value, 1), else_=0)).label("sent"),
                   func.sum(case((Delivery.state == DeliveryState.SENDING.value, 1), else_=0)).label("sending"),
                   func.sum(case((_OPEN, 1), else_=0)).label("open"),
                   func.sum(case((Delivery.state == DeliveryState.FAILED.value, 1), else_=0)).label("failed"),
                   func.count().label("n"))
            .where(Delivery.broadcast_id.in_(broadcast_ids or [-1]), Delivery.recipient_id.is_not(None))
            .group_by(Delivery.recipient_id, Delivery.channel_id))


def _take(person: _Person, row: Any) -> None:
    """Fold one recipient row into the person: the latest answer and note win."""
    person.name = row.name
    if row.contact_id is not None:
        person.contact_id, person.phone = row.contact_id, row.phone or None
    if row.answer is None or row.answered_at is None:
        return
    when = _utc(row.answered_at)
    latest = (when, row.id, row.answer, row.broadcast_id,
              AnswerSource(row.answer_source) if row.answer_source else None, bool(row.answer_late),
              bool(row.needs_help))
    if person.latest is None or latest[:2] > person.latest[:2]:
        person.latest = latest
    if row.answer_note and (person.note is None or when >= person.note[0]):
        person.note = (when, row.answer_note)


def _add_unreachable(session: Session, broadcasts: Sequence[Any], persons: dict[int, dict[str, _Person]]) -> None:
    """People a broadcast could reach on no channel are no recipients of it, but of its audience."""
    missing: dict[str, list[int]] = {}
    for b in broadcasts:
        for entry in b.unreachable or []:
            email = str(entry.get("contact", "")) if isinstance(entry, dict) else ""
            if email and email not in persons[b.incident_id]:
                missing.setdefault(email, []).append(b.incident_id)
    emails = sorted(missing)
    found: dict[str, tuple[int, str, str | None]] = {}
    for start in range(0, len(emails), _FETCH):
        found.update({e: (cid, name, phone) for cid, e, name, phone in session.execute(
            select(Contact.id, Contact.email, Contact.name, Contact.phone)
            .where(Contact.email.in_(emails[start:start + _FETCH])))})
    for email, incidents in missing.items():
        cid, name, phone = found.get(email, (None, email, None))
        for incident in incidents:
            persons[incident].setdefault(email, _Person(email, name, cid, phone or None))


def _help_requests(session: Session, incident_ids: list[int]) -> dict[tuple[int, str], HelpInfo]:
    rows = session.execute(
        select(HelpRequest.id, HelpRequest.incident_id, HelpRequest.email, HelpRequest.state, HelpRequest.opened_at,
               HelpRequest.handled_at, HelpRequest.handled_by, HelpRequest.handled_note)
        .where(HelpRequest.incident_id.in_(incident_ids))).all()
    return {(r.incident_id, r.email): HelpInfo(r.id, HelpState(r.state), _utc(r.opened_at),
                                               _utc(r.handled_at) if r.handled_at else None, r.handled_by,
                                               r.handled_note)
            for r in rows}


def _row(p: _Person, help_info: HelpInfo | None, channels: dict[int, str]) -> PersonRow:
    latest = p.latest
    if (help_info is not None and help_info.state is HelpState.OPEN) or (latest is not None and latest[6]):
        status = PersonStatus.NEEDS_HELP
    elif latest is not None:
        status = PersonStatus.SAFE
    else:
        status = PersonStatus.NO_ANSWER if p.reachable else PersonStatus.UNREACHABLE
    deliveries = tuple(sorted((ChannelDelivery(channels.get(cid, f"channel {cid}"), _best(c), c[4])
                               for cid, c in p.channels.items()), key=lambda c: c.channel))
    return PersonRow(
        email=p.email, name=p.name, contact_id=p.contact_id, phone=p.phone, status=status,
        answer=latest[2] if latest else None, answered_at=latest[0] if latest else None,
        broadcast_id=latest[3] if latest else None, source=latest[4] if latest else None,
        late=bool(latest[5]) if latest else False, note=p.note[1] if p.note else None, help=help_info,
        channels=deliveries)


def _best(c: list[int]) -> DeliveryState:
    sent, sending, open_, failed, _n = c
    if sent:
        return DeliveryState.SENT
    if sending:
        return DeliveryState.SENDING
    if open_:
        return DeliveryState.PENDING
    return DeliveryState.FAILED if failed else DeliveryState.CANCELLED


def _sort_key(r: PersonRow) -> tuple[int, str, str]:
    rank = _ORDER[r.status] + (1 if r.status is PersonStatus.NEEDS_HELP and not r.help_open else 0)
    return rank, r.name.casefold(), r.email


def _fetch(session: Session, query: _Query) -> list[Any]:
    """All rows, 500 at a time: one C-level fetch of 30,000 rows would hold the GIL (a GUI's too)."""
    rows: list[Any] = []
    for part in session.execute(query.execution_options(yield_per=_FETCH)).partitions():
        rows.extend(part)
    return rows


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds") if value else None
