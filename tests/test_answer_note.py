"""Answers with a note, through a real waitress on port 0: offered, capped, escaped, stored, audited, shown."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from sqlalchemy import select

from console.acks.answers import HELP_OPENED_ACTION, NOTE_MAX, clean_note
from console.acks.recorder import AUDIT_ACTION
from console.acks.server import AckServer
from console.bench.acks import seed_broadcast
from console.models import AuditEntry, Broadcast, Recipient
from console.services import incidents
from console.storage import Database, open_database


@dataclass
class Served:
    db: Database
    url: str
    broadcast_id: int
    tokens: dict[str, str]

    def link(self, n: int = 0) -> str:
        return f"{self.url}/a/{self.tokens[f'person{n}@example.org']}"

    def post(self, answer: str, note: str | None = None, n: int = 0) -> requests.Response:
        page = requests.get(self.link(n), timeout=10)
        found = re.search(r'name="check" value="([^"]*)"', page.text)
        assert found
        form = {"check": found.group(1), "answer": answer} | ({"note": note} if note is not None else {})
        return requests.post(self.link(n), data=form, timeout=10)

    def stored(self, n: int = 0) -> tuple[str | None, str | None]:
        with self.db.read() as session:
            row = session.execute(select(Recipient.answer, Recipient.answer_note).where(
                Recipient.broadcast_id == self.broadcast_id, Recipient.email == f"person{n}@example.org")).one()
        return row.answer, row.answer_note

    def audited(self, action: str = AUDIT_ACTION) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return [json.loads(d) for d in session.scalars(select(AuditEntry.details)
                                                           .where(AuditEntry.action == action)
                                                           .order_by(AuditEntry.seq))]


@pytest.fixture
def served(db_url: str) -> Iterator[Served]:
    db = open_database(db_url)
    seeded = seed_broadcast(db, 3)
    try:
        with AckServer(db) as server:
            yield Served(db, server.url, seeded.broadcast_id, seeded.tokens)
    finally:
        db.dispose()


class Fields(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.textareas: list[dict[str, str | None]] = []
        self.labels: list[str] = []
        self._in_label = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "textarea":
            self.textareas.append(dict(attrs))
        self._in_label = tag == "label"

    def handle_data(self, data: str) -> None:
        if self._in_label:
            self.labels.append(data)
            self._in_label = False


def test_the_page_offers_a_capped_note_inside_the_answer_form(served: Served) -> None:
    page = requests.get(served.link(), timeout=10).text
    fields = Fields(page)
    assert fields.textareas == [{"id": "note", "name": "note", "rows": "3", "maxlength": str(NOTE_MAX),
                                 "aria-describedby": "note-hint"}]
    assert any("Where are you? What do you need?" in label for label in fields.labels)
    form = page[page.index('<form method="post" class="answers"'):]
    assert form.index('name="note"') < form.index("</form>")  # posted with the button pressed


def test_a_note_is_stored_escaped_audited_and_in_the_incident_picture(served: Served) -> None:
    note = '<script>alert(1)</script> Room "3" & the stairs'
    reply = served.post("I need help", note)
    assert reply.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Room &quot;3&quot; &amp; the stairs" in reply.text
    assert "<script>alert(1)" not in reply.text
    assert served.stored() == ("I need help", note)
    (entry,) = served.audited()
    assert entry["note"] == note and entry["needs_help"] is True
    (opened,) = served.audited(HELP_OPENED_ACTION)
    assert opened["note"] == note
    with served.db.read() as session:
        incident_id = session.scalar(select(Broadcast.incident_id).where(Broadcast.id == served.broadcast_id))
    assert incident_id is not None
    data = incidents.incident_picture(served.db, incident_id).as_json()
    assert [(p["email"], p["status"], p["note"]) for p in data["people"]][0] == (
        "person0@example.org", "needs_help", note)


def test_a_note_over_the_cap_is_refused_and_nothing_recorded(served: Served) -> None:
    reply = served.post("I'm safe", "x" * (NOTE_MAX + 1))
    assert reply.status_code == 400 and f"longer than {NOTE_MAX} characters" in reply.text
    assert served.stored() == (None, None) and served.audited() == []
    assert served.post("I'm safe", "é" * NOTE_MAX).status_code == 200
    assert served.stored() == ("I'm safe", "é" * NOTE_MAX)


def test_the_same_answer_keeps_its_note_and_a_new_one_replaces_it(served: Served) -> None:
    assert served.post("I'm safe", "At the assembly point").status_code == 200
    again = served.post("I'm safe")  # the same answer, no note: nothing changes
    assert "already recorded" in again.text
    assert served.stored() == ("I'm safe", "At the assembly point")
    assert served.post("I'm safe", "At the assembly point").status_code == 200  # a replay: still nothing
    assert len(served.audited()) == 1
    served.post("I'm safe", "Went home")
    assert served.stored() == ("I'm safe", "Went home")
    served.post("I need help")
    assert served.stored() == ("I need help", None)
    assert [e["note"] for e in served.audited()] == ["At the assembly point", "Went home", None]


def test_notes_are_cleaned_of_control_characters() -> None:
    assert clean_note(" Line 1\r\nLine 2\x07\x1b[31m\u0085 ") == "Line 1\nLine 2[31m"
    assert clean_note("   ") is None and clean_note(None) is None
