"""A database an auditor would open (people, a channel, a template, an incident with a help request),
and a dump to prove that opening it read-only changed nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from console.services import settings, templates
from console.storage import Database
from tests.helpers.gui import ACTOR, seed
from tests.helpers.incidents import alert, answer

HELPER = "person2@example.org"
"""Answers "I need help" on the alert."""


def populate(db: Database) -> tuple[int, int]:
    """person1..4@example.org, "Corp mail", template "Fire", an alert to all; (incident id, broadcast id).

    Links point at a closed port on loopback (the discard port).
    """
    seed(db, 4)
    settings.set_value(db, "ack.public_url", "http://127.0.0.1:9", ACTOR)  # `status` probes it: loopback only
    templates.save_template(db, ACTOR, name="Fire", title="Fire drill", body="Leave the building.")
    sent = alert(db, channels=["Corp mail"])
    answer(db, sent.broadcast_id, HELPER, "I need help", note="Stuck in lift 3")
    assert sent.incident_id is not None
    return sent.incident_id, sent.broadcast_id


def dump(path: Path) -> list[str]:
    """Every row of a SQLite file, as SQL, read without writing: equal dumps, equal databases."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
