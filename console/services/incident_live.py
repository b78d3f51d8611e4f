"""The incident picture as the desktop shows it, live: the picture and its answers over time.

One worker read for the Broadcasts page's incident view (console.gui.views.broadcast.incident_panel):
the picture of every person (console.services.incidents) and, for the chart, how many people stood
by each answer as time went on across all of the incident's messages. Only a person's latest answer
per message is stored, so a person who answered the alert and then the update moves from their
first answer's line to the second's at the time of the second.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from console.models import Broadcast, Recipient
from console.services import incidents
from console.services.incidents import IncidentPicture
from console.services.live import close_series, ms, utc
from console.storage import Database


@dataclass(frozen=True)
class IncidentRead:
    """A read of one incident: the picture, and the chart's lines (ms since the epoch, people)."""

    picture: IncidentPicture
    start: dt.datetime
    end: dt.datetime
    series: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    alarm: tuple[str, ...] = ()
    """The answers that mean "needs help" (drawn red)."""


def read_incident(db: Database, incident_id: int) -> IncidentRead:
    """The picture of the incident and its answers over time (raises IncidentNotFound)."""
    picture = incidents.incident_picture(db, incident_id)
    with db.read() as session:
        option_lists = session.execute(select(Broadcast.options, Broadcast.help_options)
                                       .where(Broadcast.incident_id == incident_id).order_by(Broadcast.id)).all()
        answers = session.execute(
            select(Recipient.email, Recipient.answer, Recipient.answered_at, Recipient.needs_help)
            .join(Broadcast, Broadcast.id == Recipient.broadcast_id)
            .where(Broadcast.incident_id == incident_id, Recipient.answered_at.is_not(None),
                   Recipient.answer.is_not(None))
            .order_by(Recipient.answered_at, Recipient.id)).all()
    names: list[str] = []
    alarm: list[str] = []
    for options, help_options in option_lists:
        names.extend(str(o) for o in options or [])
        alarm.extend(str(o) for o in help_options or [])
    names.extend(a.answer for a in answers)
    alarm.extend(a.answer for a in answers if a.needs_help)
    start = picture.incident.opened_at
    times = [utc(a.answered_at) for a in answers]
    end = max([dt.datetime.now(dt.UTC), *times[-1:]])
    series = people_over_time(list(dict.fromkeys(names)),
                              [(a.email, a.answer, t) for a, t in zip(answers, times, strict=True)], start, end)
    return IncidentRead(picture, start, end, series, tuple(dict.fromkeys(alarm)))


def people_over_time(names: list[str], answers: list[tuple[str, str, dt.datetime]], start: dt.datetime,
                     end: dt.datetime) -> dict[str, list[tuple[float, int]]]:
    """For each answer, how many people's latest answer it was over time; `answers` in time order."""
    points: dict[str, list[tuple[float, int]]] = {n: [(ms(start), 0)] for n in names}
    counts = dict.fromkeys(names, 0)
    current: dict[str, str] = {}
    for email, answer, when in answers:
        before = current.get(email)
        if before == answer:
            continue
        current[email] = answer
        if before is not None:
            counts[before] -= 1
            points[before].append((ms(when), counts[before]))
        counts[answer] += 1
        points[answer].append((ms(when), counts[answer]))
    return close_series(points, counts, end)
