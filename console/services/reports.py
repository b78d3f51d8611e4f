"""Reports an auditor can file: gather an incident (or one message) once, write it as a PDF or its people table.

Written once for both faces (`crisis-console report …` and the Broadcasts page's "Report…").
The picture, the answers over time and the failures come from the services the live views use
(console.services.incident_live, live, broadcasts), the audit entries from the audit search
(filtered by incident or broadcast), the checkpoint from the checkpoint file outside the
database. Files are written to a temporary file beside the target and renamed: never half a
report. Nothing here writes the database, so a read-only console makes reports too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from console.audit import checkpoints
from console.audit.checkpoints import CheckpointFileError
from console.audit.log import log_id
from console.audit.search import AuditFilter, entries_for
from console.audit.signing import PublicKey
from console.broadcast import auditseal
from console.broadcast.auditseal import SealRefused
from console.broadcast.errors import BroadcastNotFound
from console.errors import UserError
from console.incident.picture import PersonRow, count
from console.models import AuditEntry, Broadcast, Channel
from console.report import table
from console.report.model import (
    AuditLine,
    CheckpointInfo,
    FailureLine,
    MessageInfo,
    Report,
    ReportFormat,
    ReportPerson,
    ReportScope,
)
from console.services import broadcasts, incident_live, live
from console.services.live import PersonDelivery
from console.storage import Database
from console.textsafe import TextSink
from console.vocabulary import PersonStatus

__all__ = ["Report", "ReportFormat", "ReportScope", "ReportTargetError", "checkpoint_file", "format_for", "gather",
           "write_report"]


class ReportTargetError(UserError):
    """The file asked for cannot be a report: unknown format, or a folder that does not exist."""


def format_for(path: Path, given: str | None) -> ReportFormat:
    """The format asked for, else the one the file's suffix names (`.pdf`, `.csv`, `.json`)."""
    if given:
        try:
            return ReportFormat(given.lower())
        except ValueError:
            raise ReportTargetError(f"--format {given}: choose pdf, csv or json") from None
    suffix = path.suffix.lower().lstrip(".")
    try:
        return ReportFormat(suffix)
    except ValueError:
        raise ReportTargetError(f"--out {path}: name a .pdf, .csv or .json file, or give --format") from None


def gather(db: Database, scope: ReportScope, subject_id: int, made_by: str,
           checkpoint_path: Path | None = None) -> Report:
    """Everything the report shows, read now (raises IncidentNotFound / BroadcastNotFound).

    `checkpoint_path`: the checkpoint file to look in (default: checkpoint_file(db)).
    """
    incident_id = subject_id
    if scope is ReportScope.BROADCAST:
        incident_id = broadcasts.status(db, subject_id).incident_id
    read = incident_live.read_incident(db, incident_id)
    picture = read.picture
    ids = [b.id for b in picture.broadcasts] if scope is ReportScope.INCIDENT else [subject_id]
    messages = _messages(db, ids)
    failures = tuple(_failures(db, ids))
    if scope is ReportScope.INCIDENT:
        people = tuple(_person(r) for r in picture.people)
        counts = count(picture.people)
        start, end, series, alarm = read.start, read.end, read.series, read.alarm
    else:
        rows = _broadcast_rows(db, subject_id, picture.people, messages[0])
        people = tuple(_person(r, delivery, error) for r, delivery, error in rows)
        counts = count(r for r, _d, _e in rows)
        detail = live.load_detail(db, subject_id)
        start, end, series = detail.start, detail.end, detail.series
        alarm = tuple(detail.status.help_options)
    entries = _audit(db, scope, subject_id)
    return Report(scope, subject_id, picture.incident, counts, tuple(messages), people, failures, entries,
                  _checkpoint(db, entries, checkpoint_path), dt.datetime.now(dt.UTC), made_by, start, end, series,
                  alarm)


def write_report(db: Database, scope: ReportScope, subject_id: int, path: Path, fmt: ReportFormat,
                 made_by: str, checkpoint_path: Path | None = None) -> Report:
    """Gather and write the report to `path` (a temporary file beside it, then renamed).

    An OSError (no such folder, no permission, disk full) propagates for the face to word;
    nothing is left behind.
    """
    report = gather(db, scope, subject_id, made_by, checkpoint_path)
    writers: dict[ReportFormat, Callable[[Report, TextSink], None]] = {
        ReportFormat.CSV: table.write_csv, ReportFormat.JSON: table.write_json}
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        if fmt is ReportFormat.PDF:
            # ReportLab (~0.15 s to import) only when a PDF is made, not with the page that offers "Report…"
            from console.report import pdf

            with os.fdopen(handle, "wb") as out:
                pdf.write_pdf(report, out)
        else:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as text:
                writers[fmt](report, text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return report


def _messages(db: Database, ids: list[int]) -> list[MessageInfo]:
    """Each message with who sent it, its audience and channels by name, and its counts in people."""
    with db.read() as session:
        rows = {b.id: b for b in session.execute(
            select(Broadcast.id, Broadcast.kind, Broadcast.title, Broadcast.body, Broadcast.severity,
                   Broadcast.sender, Broadcast.created_at, Broadcast.closed_at, Broadcast.audience,
                   Broadcast.channel_ids).where(Broadcast.id.in_(ids or [-1])))}
        names = dict(session.execute(select(Channel.id, Channel.name)).all())
    out = []
    for bid in ids:
        b = rows.get(bid)
        if b is None:
            raise BroadcastNotFound(f"no broadcast with id {bid}")
        audience = b.audience or {}
        out.append(MessageInfo(
            b.id, b.kind, b.title, b.body, b.severity, b.sender, live.utc(b.created_at),
            live.utc(b.closed_at) if b.closed_at else None, tuple(str(g) for g in audience.get("groups", [])),
            len(audience.get("contacts", [])), tuple(names.get(int(c), f"channel {c}") for c in b.channel_ids or []),
            broadcasts.status(db, bid)))
    return out


def _failures(db: Database, ids: list[int]) -> list[FailureLine]:
    lines = []
    for bid in ids:
        for f in broadcasts.failure_report(db, bid).failed:
            who = f"{f.name} <{f.email}>" if f.email else f"group {f.group or '?'}"
            lines.append(FailureLine(bid, who, f.channel, f.attempts, f.last_error, f.failed_at))
    return lines


def _broadcast_rows(db: Database, broadcast_id: int, people: tuple[PersonRow, ...],
                    message: MessageInfo) -> list[tuple[PersonRow, str, str]]:
    """The people of one message: its recipients with their answer to it and how their deliveries of
    it stand, then the people it could not reach; (row, delivery, error), needs help first.

    The help request comes from the incident's picture (a request is per incident): an open one
    makes the person need help here too. The note is shown when it came with an answer to this message.
    """
    recipients, _mark = live.load_recipients(db, broadcast_id)
    by_email = {p.email: p for p in people}
    help_options = set(message.status.help_options)
    rows: list[tuple[PersonRow, str, str]] = []
    for r in recipients:
        p = by_email.get(r.email)
        if p is None:
            continue
        answered = r.answered_at is not None and bool(r.answer)
        if r.needs_help or p.help_open or (answered and r.answer in help_options):
            status = PersonStatus.NEEDS_HELP
        elif answered:
            status = PersonStatus.SAFE
        else:  # as the picture has it: unreachable when none of their deliveries of it went out, nor can
            status = (PersonStatus.UNREACHABLE if r.state in (PersonDelivery.FAILED, PersonDelivery.CANCELLED)
                      else PersonStatus.NO_ANSWER)
        mine = p.broadcast_id == broadcast_id
        rows.append((dataclasses.replace(
            p, status=status, answer=r.answer or None, answered_at=r.answered_at,
            broadcast_id=broadcast_id if answered else None, source=p.source if mine else None,
            note=p.note if mine else None), r.state.value or "group post only", r.error))
    listed = {r.email for r in recipients}
    unreachable = {str(u.get("contact", "")) for u in _unreachable(db, broadcast_id)}
    rows.extend((dataclasses.replace(p, status=PersonStatus.UNREACHABLE, answer=None, answered_at=None,
                                     broadcast_id=None, source=None, note=None), "no channel reaches them", "")
                for p in people if p.email in unreachable and p.email not in listed)
    rows.sort(key=lambda row: (_RANK[row[0].status], row[0].name.casefold(), row[0].email))
    return rows


_RANK = {PersonStatus.NEEDS_HELP: 0, PersonStatus.UNREACHABLE: 1, PersonStatus.NO_ANSWER: 2, PersonStatus.SAFE: 3}
"""The incident picture's order (console.incident.picture): who needs something first."""


def _unreachable(db: Database, broadcast_id: int) -> list[dict[str, object]]:
    with db.read() as session:
        found = session.scalar(select(Broadcast.unreachable).where(Broadcast.id == broadcast_id))
    return [u for u in found or [] if isinstance(u, dict)]


def _person(p: PersonRow, delivery: str | None = None, error: str = "") -> ReportPerson:
    """A row of the people table; `delivery` defaults to how each channel fared across the incident."""
    if delivery is None:
        delivery = "; ".join(f"{c.channel}: {c.state.value}" for c in p.channels)
    return ReportPerson(p.name, p.email, p.status.value, p.answer, p.answered_at, p.broadcast_id,
                        p.source.value if p.source else None, p.note, p.help, delivery, error)


def _audit(db: Database, scope: ReportScope, subject_id: int) -> tuple[AuditLine, ...]:
    """Every audit entry about the incident (its messages, deliveries, answers, help requests, close)
    or about the one message, oldest first (console.audit.search's filters)."""
    flt = (AuditFilter(incident_id=subject_id) if scope is ReportScope.INCIDENT
           else AuditFilter(broadcast_id=subject_id))
    with db.read() as session:
        rows = entries_for(session, flt)
    return tuple(AuditLine(r.seq, r.time, r.actor, r.action, r.subject, r.details, r.hash) for r in rows)


def checkpoint_file(db: Database) -> Path | None:
    """Where `audit seal` keeps this database's checkpoints (console.broadcast.auditseal); None when
    the log has no id yet."""
    with db.read() as session:
        try:
            return auditseal.checkpoint_path(session)
        except SealRefused:
            return None


def _checkpoint(db: Database, entries: tuple[AuditLine, ...], path: Path | None) -> CheckpointInfo:
    """The latest checkpoint sealing the report's last entry, from the file outside the database:
    its signature checked under the key it names, its hash compared with the log's entry."""
    if not entries:
        return CheckpointInfo(False, "No audit entry to cover.")
    last = entries[-1].seq
    if path is not None:  # named by the reader: a missing or damaged file is their mistake (exit 2)
        found = checkpoints.latest_covering(checkpoints.load(path), last)
    else:
        path = checkpoint_file(db)
        if path is None or not path.exists():
            return CheckpointInfo(False, f"No checkpoint file ({path or 'the log has no id yet'}): these entries "
                                         "are not sealed by a signed checkpoint (`crisis-console audit seal`).")
        try:
            found = checkpoints.latest_covering(checkpoints.load(path), last)
        except CheckpointFileError as exc:
            return CheckpointInfo(False, f"The checkpoint file cannot be used: {exc}")
    if found is None:
        return CheckpointInfo(False, f"No checkpoint in {path} covers entry {last} yet: the entries after the last "
                                     "seal are not sealed (`crisis-console audit seal`).")
    with db.read() as session:
        stored = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == found.seq))
        log = log_id(session)
    signed = "the signature holds" if found.signature_ok() else "THE SIGNATURE DOES NOT HOLD"
    same = (f"the log's entry {found.seq} has this hash" if stored == found.hash
            else f"THE LOG'S ENTRY {found.seq} DOES NOT HAVE THIS HASH")
    foreign = "" if found.log == log else "; IT NAMES ANOTHER LOG"
    fingerprint = PublicKey.parse(found.key).fingerprint if found.signature_ok() else found.key
    return CheckpointInfo(True, f"{found.label()} in {path} seals entry {last}: {signed}, {same}{foreign}. "
                                "Compare the key's fingerprint with the one your organisation published; "
                                "`crisis-console audit verify --checkpoints FILE --public-key KEY` checks the "
                                "whole log.",
                          found.seq, found.hash, found.count, found.time, fingerprint, found.log)
