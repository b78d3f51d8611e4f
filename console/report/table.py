"""The people table of a report as CSV or JSON, for a spreadsheet or a script.

JSON: an object `{"scope", "id", "incident_id", "title", "exercise", "made_at", "counts", "people": […]}`,
each person as console.report.model.ReportPerson.as_json. CSV: like `audit export`, UTF-8 with a
byte-order mark, CRLF, every cell quoted, and a cell that would start a formula written with a
single quote in front (console.textsafe.neutralise_cell).
"""

from __future__ import annotations

import csv
import json
from typing import Any

from console.report.model import Report, ReportPerson, iso
from console.textsafe import TextSink, neutralise_cell, safe_json

COLUMNS = ("name", "email", "status", "answer", "answered_at", "broadcast_id", "source", "note", "help_state",
           "help_opened_at", "handled_at", "handled_by", "handled_note", "delivery", "error")


def as_json(report: Report) -> dict[str, Any]:
    return {"scope": report.scope.value, "id": report.subject_id, "incident_id": report.incident.id,
            "title": report.title, "exercise": report.exercise, "made_at": iso(report.made_at),
            "counts": report.counts.as_json(), "people": [p.as_json() for p in report.people]}


def write_json(report: Report, out: TextSink) -> None:
    out.write(safe_json(json.dumps(as_json(report), ensure_ascii=False, indent=2)) + "\n")


def row(person: ReportPerson) -> list[str]:
    """One CSV row, cells in COLUMNS order (empty text for nothing)."""
    h = person.help
    cells = (person.name, person.email, person.status, person.answer, iso(person.answered_at),
             person.broadcast_id, person.source, person.note, h.state.value if h else None,
             iso(h.opened_at) if h else None, iso(h.handled_at) if h else None, h.handled_by if h else None,
             h.handled_note if h else None, person.delivery, person.error)
    return [neutralise_cell("" if c is None else str(c)) for c in cells]


def write_csv(report: Report, out: TextSink) -> None:
    """`out` opened with newline="" and encoding="utf-8"."""
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for person in report.people:
        writer.writerow(row(person))
