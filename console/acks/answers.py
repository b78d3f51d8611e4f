"""The rules of recording an answer, and their SQL on the writer's connection.

An answer comes through a person's own link (proof of who answers) or through a
group link with a typed-in work email (a *self-report*: anyone who has the link
can type anyone's email). So:

- a personal answer always applies; giving the answer already in force changes
  nothing and adds no audit entry (a replayed POST is a no-op);
- a self-report is kept (`self_report`) and audited, but applies only when the
  person has no answer yet, or only a self-report that did not ask for help:
  it never replaces a personal answer and never clears "needs help";
- repeating the self-report already kept changes nothing, likewise;
- a request for the personal link queues one reminder delivery on an email
  channel, at most once per `LINK_INTERVAL` per person;
- an answer may carry a short note (`NOTE_MAX` characters): it belongs to the
  answer, so a new answer replaces it, while the same answer again with no note
  keeps it (and changes nothing); the same answer with another note is a change;
- a help option that becomes the answer in force opens the person's help
  request in the incident (one per incident and email), or reopens a handled
  one, in the same transaction, audited with the person as the actor.

`write_requests` applies a batch in the writer's open transaction: one SELECT
of the rows involved (locked in id order on PostgreSQL), the rules in Python,
one executemany UPDATE, the audit entries through `auditbatch.append_many`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from console.acks.auditbatch import append_many
from console.acks.errors import RecipientGone
from console.acks.lookup import is_late
from console.acks.rawdb import RawDialect
from console.models import utcnow
from console.vocabulary import AnswerSource, HelpState

AUDIT_ACTION = "ack.answer"
SELF_REPORT_ACTION = "ack.self_report"
LINK_ACTION = "ack.link_requested"
HELP_OPENED_ACTION = "help.opened"
HELP_REOPENED_ACTION = "help.reopened"
NOTE_MAX = 280
"""Characters at most in the note given with an answer (the page's field says so too)."""
_NOTE_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
LINK_INTERVAL = dt.timedelta(minutes=10)
"""A person's personal link is mailed again from the group page at most this often."""


@dataclass(frozen=True)
class AnswerRequest:
    """One answer as the web page posted it.

    Args:
        recipient_id: whose answer (the link's recipient, or found by email on a group link).
        answer: one of the broadcast's options, already checked.
        client: the client's address, for the audit log.
        source: the personal link, or a group link (a self-report).
        note: the short text given with it (see `clean_note`), None for none.
    """

    recipient_id: int
    answer: str
    client: str
    source: AnswerSource = AnswerSource.PERSONAL
    note: str | None = None

    @property
    def via(self) -> str:
        return "link" if self.source is AnswerSource.PERSONAL else "group link"


@dataclass(frozen=True)
class LinkRequest:
    """Mail this recipient their personal link on `channel_id` (asked for on a group page)."""

    recipient_id: int
    channel_id: int
    client: str


Request = AnswerRequest | LinkRequest


@dataclass(frozen=True)
class Outcome:
    """What a request did, once it is committed.

    `changed` is False for a repeat (nothing written, nothing audited); `applied` is False
    for a self-report that did not replace the answer in force. `answer`, `needs_help`
    and `source` describe the answer in force afterwards.
    """

    recipient_id: int
    broadcast_id: int
    answer: str | None
    previous: str | None
    answered_at: dt.datetime | None
    late: bool
    audit_seq: int | None
    changed: bool = True
    applied: bool = True
    source: AnswerSource | None = AnswerSource.PERSONAL
    needs_help: bool = False
    note: str | None = None


def clean_note(value: str | None) -> str | None:
    """The note as stored: line ends as LF, no other control characters, no blank edges; None when empty.

    Its length is the caller's to check against NOTE_MAX (the page refuses a longer one in words).
    """
    text = _NOTE_CONTROLS.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    return text or None


_COLUMNS = ("r.id, r.broadcast_id, r.email, r.answer, r.answered_at, r.answer_late, r.answer_source, "
            "r.needs_help, r.self_report, r.self_report_at, r.link_requested_at, b.kind, b.state, i.state, "
            "b.help_options, r.answer_note, b.incident_id, r.contact_id")
_CURRENT = (f"SELECT {_COLUMNS} FROM recipients r JOIN broadcasts b ON b.id = r.broadcast_id "
            "JOIN incidents i ON i.id = b.incident_id WHERE {ids} ORDER BY r.id")
_UPDATE = ("UPDATE recipients SET answer = :answer, answered_at = :answered_at, answer_late = :late, "
           "answer_source = :source, needs_help = :needs_help, self_report = :self_report, "
           "self_report_at = :self_report_at, link_requested_at = :link_requested_at, answer_note = :note "
           "WHERE id = :id")
_DELIVERY = ("INSERT INTO deliveries (broadcast_id, recipient_id, channel_id, address, reminder, state, attempts, "
             "next_attempt_at, created_at, changed_at) "
             "VALUES (:b, :r, :c, :a, :reminder, 'pending', 0, :t, :t, :t)")


@dataclass(frozen=True)
class _Row:
    """A recipient's answer state as stored (times as the driver returns them, written back unchanged)."""

    id: int
    broadcast_id: int
    email: str
    answer: str | None
    answered_at: Any
    late: bool
    source: str | None
    needs_help: bool
    self_report: str | None
    self_report_at: Any
    link_requested_at: Any
    closed: bool
    help: frozenset[str]
    note: str | None
    incident_id: int
    contact_id: int | None


def _help_options(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset(json.loads(value) if isinstance(value, str) else value)


def _read(cursor: Any, raw: RawDialect, requests: list[Request]) -> dict[int, _Row]:
    where, params = raw.in_list("r.id", sorted({r.recipient_id for r in requests}))
    sql = _CURRENT.format(ids=where) + (" FOR UPDATE OF r" if raw.postgresql else "")
    cursor.execute(raw.sql(sql), params)
    return {int(r[0]): _Row(int(r[0]), int(r[1]), r[2], r[3], r[4], bool(r[5]), r[6], bool(r[7]), r[8], r[9],
                            r[10], is_late(r[12], r[13], r[11]), _help_options(r[14]), r[15], int(r[16]),
                            None if r[17] is None else int(r[17]))
            for r in cursor.fetchall()}


def _note(row: _Row, req: AnswerRequest) -> str | None:
    """The note in force after `req` applies: its own, else the one kept with the same answer."""
    if req.note:
        return req.note[:NOTE_MAX]
    return row.note if row.answer == req.answer else None


def _personal(row: _Row, req: AnswerRequest, at: Any) -> tuple[_Row, bool]:
    """The row after a personal answer, and whether anything changed."""
    note = _note(row, req)
    if row.answer == req.answer and row.source == AnswerSource.PERSONAL and row.note == note:
        return row, False
    return replace(row, answer=req.answer, answered_at=at, late=row.closed, source=AnswerSource.PERSONAL.value,
                   needs_help=req.answer in row.help, note=note), True


def _self_report(row: _Row, req: AnswerRequest, at: Any) -> tuple[_Row, bool, bool]:
    """The row after a self-report, whether anything changed, and whether it became the answer in force."""
    in_force = row.source == AnswerSource.GROUP and row.answer == req.answer
    if row.self_report == req.answer and (not in_force or row.note == _note(row, req)):
        return row, False, in_force
    kept = replace(row, self_report=req.answer, self_report_at=at)
    if row.answer is not None and (row.source != AnswerSource.GROUP or row.needs_help) and not (in_force and req.note):
        return kept, True, False
    return replace(kept, answer=req.answer, answered_at=at, late=row.closed, source=AnswerSource.GROUP.value,
                   needs_help=req.answer in row.help, note=_note(row, req)), True, True


def write_requests(cursor: Any, raw: RawDialect, requests: list[Request]) -> list[Outcome | RecipientGone]:
    """Apply `requests` in order in the cursor's open write transaction (see the module docstring)."""
    rows = _read(cursor, raw, requests)
    original = dict(rows)
    now = utcnow()
    at = raw.time_param(now)
    stamp = now.isoformat(timespec="microseconds")
    audits: list[tuple[str, str, str, dict[str, Any]]] = []
    deliveries: list[dict[str, Any]] = []
    results: list[RecipientGone | tuple[_Row, _Row, bool, bool, bool]] = []
    wants_help: list[tuple[_Row, AnswerRequest]] = []
    for req in requests:
        row = rows.get(req.recipient_id)
        if row is None:
            results.append(RecipientGone(f"recipient {req.recipient_id} no longer exists"))
            continue
        applied = True
        if isinstance(req, LinkRequest):
            last = raw.time_value(row.link_requested_at)
            changed = last is None or now - last >= LINK_INTERVAL
            new = replace(row, link_requested_at=at) if changed else row
            if changed:
                deliveries.append({"b": row.broadcast_id, "r": row.id, "c": req.channel_id, "a": row.email,
                                   "reminder": True, "t": at})
                audits.append((row.email, LINK_ACTION, f"broadcast {row.broadcast_id}", {
                    "recipient": row.id, "email": row.email, "channel": req.channel_id, "client": req.client,
                    "time": stamp}))
        elif req.source is AnswerSource.PERSONAL:
            new, changed = _personal(row, req, at)
            if changed:
                audits.append((row.email, AUDIT_ACTION, f"broadcast {row.broadcast_id}", {
                    "recipient": row.id, "email": row.email, "answer": req.answer, "previous": row.answer,
                    "previous_source": row.source, "needs_help": new.needs_help, "time": stamp, "late": new.late,
                    "client": req.client, "via": req.via, "source": req.source.value, "note": new.note}))
        else:
            new, changed, applied = _self_report(row, req, at)
            if changed:
                audits.append((row.email, SELF_REPORT_ACTION, f"broadcast {row.broadcast_id}", {
                    "recipient": row.id, "email": row.email, "answer": req.answer, "applied": applied,
                    "answer_in_force": new.answer, "previous": row.answer, "previous_source": row.source,
                    "needs_help": new.needs_help, "time": stamp, "late": row.closed, "client": req.client,
                    "via": req.via, "source": req.source.value, "note": req.note}))
        if isinstance(req, AnswerRequest) and changed and applied and new.needs_help:
            wants_help.append((new, req))
        rows[row.id] = new
        results.append((row, new, changed, applied, isinstance(req, LinkRequest)))
    seqs = iter(append_many(cursor, raw, audits))
    updates = [_params(rows[rid]) for rid in sorted(rows) if rows[rid] is not original[rid]]
    if updates:
        cursor.executemany(raw.sql(_UPDATE), updates)
    if deliveries:
        cursor.executemany(raw.sql(_DELIVERY), deliveries)
    if wants_help:
        append_many(cursor, raw, _open_help(cursor, raw, wants_help, at, stamp))
    return [r if isinstance(r, RecipientGone) else _outcome(raw, *r, next(seqs) if r[2] else None)
            for r in results]


_HELP_FIND = "SELECT id, state FROM help_requests WHERE incident_id = :i AND email = :e"
_HELP_INSERT = ("INSERT INTO help_requests (incident_id, contact_id, email, recipient_id, state, opened_at) "
                f"VALUES (:i, :c, :e, :r, '{HelpState.OPEN.value}', :t) ON CONFLICT (incident_id, email) DO NOTHING")
_HELP_REOPEN = (f"UPDATE help_requests SET state = '{HelpState.OPEN.value}', recipient_id = :r, opened_at = :t, "
                "handled_at = NULL, handled_by = NULL, handled_note = NULL WHERE id = :id")


def _open_help(cursor: Any, raw: RawDialect, wanted: list[tuple[_Row, AnswerRequest]], at: Any,
               stamp: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Open (or reopen a handled) help request for each person whose answer in force became a help
    option; the audit entries to append. A request already open stays as it is."""
    find = raw.sql(_HELP_FIND + (" FOR UPDATE" if raw.postgresql else ""))
    done: set[tuple[int, str]] = set()
    audits: list[tuple[str, str, str, dict[str, Any]]] = []
    for row, req in wanted:
        key = (row.incident_id, row.email)
        if key in done:
            continue
        done.add(key)
        params = {"i": row.incident_id, "e": row.email}
        cursor.execute(find, params)
        found = cursor.fetchone()
        if found is None:
            cursor.execute(raw.sql(_HELP_INSERT), {**params, "c": row.contact_id, "r": row.id, "t": at})
            cursor.execute(find, params)
            found, action = cursor.fetchone(), HELP_OPENED_ACTION
            if found is None:  # cannot be: the row was just inserted, or another writer's committed
                continue
        elif found[1] == HelpState.HANDLED:
            cursor.execute(raw.sql(_HELP_REOPEN), {"id": found[0], "r": row.id, "t": at})
            action = HELP_REOPENED_ACTION
        else:
            continue
        audits.append((row.email, action, f"incident {row.incident_id}", {
            "help_request": int(found[0]), "email": row.email, "contact": row.contact_id, "recipient": row.id,
            "broadcast": row.broadcast_id, "answer": req.answer, "note": row.note, "source": req.source.value,
            "by": "answer", "time": stamp}))
    return audits


def _params(row: _Row) -> dict[str, Any]:
    return {"id": row.id, "answer": row.answer, "answered_at": row.answered_at, "late": row.late,
            "source": row.source, "needs_help": row.needs_help, "self_report": row.self_report,
            "self_report_at": row.self_report_at, "link_requested_at": row.link_requested_at, "note": row.note}


def _outcome(raw: RawDialect, before: _Row, after: _Row, changed: bool, applied: bool, link: bool,
             seq: int | None) -> Outcome:
    return Outcome(
        recipient_id=after.id, broadcast_id=after.broadcast_id, answer=after.answer, previous=before.answer,
        answered_at=raw.time_value(after.answered_at), late=after.late, audit_seq=seq, changed=changed,
        applied=applied and not link, source=AnswerSource(after.source) if after.source else None,
        needs_help=after.needs_help, note=after.note)
