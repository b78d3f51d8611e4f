"""What a report holds, as plain frozen values: gathered once (console.services.reports), then
rendered as a PDF (console.report.pdf) or as the people table alone (console.report.table).

The renderers never read the database, so a report shows one consistent moment and the same
values make the PDF, the CSV and the JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from console.broadcast.status import BroadcastStatus
from console.incident.picture import HelpInfo, IncidentSummary, PictureCounts


class ReportScope(StrEnum):
    """A report covers a whole incident or one of its messages."""

    INCIDENT = "incident"
    BROADCAST = "broadcast"


class ReportFormat(StrEnum):
    """What `report --format` writes: the whole report, or the people table alone."""

    PDF = "pdf"
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True)
class MessageInfo:
    """One message of the incident: who sent what, when, to whom, on which channels, and its counts."""

    id: int
    kind: str
    title: str
    body: str
    severity: str
    sender: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    groups: tuple[str, ...]
    contacts: int
    """People named one by one in the audience (beside the groups)."""
    channels: tuple[str, ...]
    status: BroadcastStatus


@dataclass(frozen=True)
class ReportPerson:
    """One row of the people table: where the person stands, their answer and note, the help request."""

    name: str
    email: str
    status: str
    """console.vocabulary.PersonStatus value (needs_help, safe, no_answer, unreachable)."""
    answer: str | None
    answered_at: dt.datetime | None
    broadcast_id: int | None
    """The message the answer was given to."""
    source: str | None
    note: str | None
    help: HelpInfo | None
    delivery: str
    """How the channels fared for them, in words ("Corp mail: sent; Texts: failed")."""
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email, "status": self.status, "answer": self.answer,
                "answered_at": iso(self.answered_at), "broadcast_id": self.broadcast_id, "source": self.source,
                "note": self.note, "help": self.help.as_json() if self.help else None, "delivery": self.delivery,
                "error": self.error}


@dataclass(frozen=True)
class FailureLine:
    """A delivery given up: to whom, on which channel, why (secrets masked by the failures service)."""

    broadcast_id: int
    who: str
    channel: str
    attempts: int
    reason: str
    failed_at: str


@dataclass(frozen=True)
class AuditLine:
    seq: int
    time: str
    actor: str
    action: str
    subject: str
    details: str
    hash: str


@dataclass(frozen=True)
class CheckpointInfo:
    """The latest signed checkpoint covering the report's audit entries, or why there is none."""

    found: bool
    note: str
    """One sentence for the reader: which file, or why none covers the entries."""
    seq: int = 0
    hash: str = ""
    count: int = 0
    time: str = ""
    key_fingerprint: str = ""
    log: str = ""


@dataclass(frozen=True)
class Report:
    """Everything one report shows, gathered in one go."""

    scope: ReportScope
    subject_id: int
    """The incident's id, or the broadcast's for a one-message report."""
    incident: IncidentSummary
    counts: PictureCounts
    """People (never deliveries) per status, within the report's scope."""
    messages: tuple[MessageInfo, ...]
    people: tuple[ReportPerson, ...]
    failures: tuple[FailureLine, ...]
    audit: tuple[AuditLine, ...]
    checkpoint: CheckpointInfo
    made_at: dt.datetime
    made_by: str
    start: dt.datetime
    end: dt.datetime
    series: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    """Answers over time: per answer, (ms since the epoch, people)."""
    alarm: tuple[str, ...] = ()
    """The answers that mean "needs help"."""

    @property
    def title(self) -> str:
        if self.scope is ReportScope.BROADCAST and self.messages:
            return self.messages[0].title
        return self.incident.title

    @property
    def exercise(self) -> bool:
        return self.incident.exercise or any(m.status.exercise for m in self.messages)


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds") if value else None


def shown_time(value: dt.datetime | None) -> str:
    """UTC, to the second, as a report prints it ("2026-11-27 20:35:36 UTC")."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""
