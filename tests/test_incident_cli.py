"""`crisis-console incident …` and the guarded `send --kind all_clear`, run as a user would (subprocess)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from console.models import AuditEntry, Incident
from console.storage import Database
from tests.helpers.gui import seed
from tests.helpers.incidents import alert, answer

if TYPE_CHECKING:
    from tests.conftest import CliRunner

INCIDENT_KEYS = {"incident_id", "title", "state", "exercise", "opened_at", "closed_at", "closed_by", "close_reason",
                 "messages", "counts"}
COUNT_KEYS = {"people", "needs_help_open", "needs_help_handled", "safe", "no_answer", "unreachable"}
PERSON_KEYS = {"email", "name", "contact_id", "phone", "status", "answer", "answered_at", "broadcast_id", "source",
               "late", "note", "help", "channels"}
HELP_KEYS = {"id", "state", "opened_at", "handled_at", "handled_by", "handled_note"}
BROADCAST_KEYS = {"broadcast_id", "kind", "title", "state", "created_at", "recipients"}


@pytest.fixture
def incident(sqlite_url: str) -> Iterator[tuple[str, int]]:
    """Four people; a fire alert (its title has an escape sequence); person2 needs help with a note,
    person1 is safe, 3 and 4 have not answered."""
    db = Database(sqlite_url)
    try:
        seed(db, 4)
        sent = alert(db, title="Fire \x1b[2J in B")
        answer(db, sent.broadcast_id, "person2@example.org", "I need help", note="Lift 3, 2nd floor")
        answer(db, sent.broadcast_id, "person1@example.org", "I'm safe")
        yield sqlite_url, sent.incident_id
    finally:
        db.dispose()


def audit_rows(url: str, action: str) -> list[tuple[str, dict[str, Any]]]:
    db = Database(url)
    try:
        with db.read() as session:
            return [(a, json.loads(d)) for a, d in session.execute(
                select(AuditEntry.actor, AuditEntry.details).where(AuditEntry.action == action)
                .order_by(AuditEntry.seq))]
    finally:
        db.dispose()


def test_list_and_show_json_have_the_documented_shape(cli: CliRunner, incident: tuple[str, int]) -> None:
    url, iid = incident
    listed = cli("incident", "list", "--json", db=url)
    assert listed.returncode == 0, listed.stderr
    (item,) = json.loads(listed.stdout)
    assert set(item) == INCIDENT_KEYS and set(item["counts"]) == COUNT_KEYS
    assert (item["incident_id"], item["state"], item["messages"]) == (iid, "open", 1)
    assert item["counts"] == {"people": 4, "needs_help_open": 1, "needs_help_handled": 0, "safe": 1,
                              "no_answer": 2, "unreachable": 0}

    shown = cli("incident", "show", str(iid), "--json", db=url)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert set(data) == INCIDENT_KEYS | {"broadcasts", "people"} and data["title"] == "Fire \x1b[2J in B"
    assert [set(b) for b in data["broadcasts"]] == [BROADCAST_KEYS]
    assert all(set(p) == PERSON_KEYS for p in data["people"])
    first = data["people"][0]
    assert (first["email"], first["status"], first["answer"], first["note"], first["phone"], first["source"]) == (
        "person2@example.org", "needs_help", "I need help", "Lift 3, 2nd floor", "+447700900102", "link")
    assert set(first["help"]) == HELP_KEYS and first["help"]["state"] == "open"
    assert first["channels"] == [{"channel": "Corp mail", "state": "pending", "deliveries": 1}]
    assert [p["status"] for p in data["people"]] == ["needs_help", "no_answer", "no_answer", "safe"]


def test_show_in_words_escapes_what_others_wrote(cli: CliRunner, incident: tuple[str, int]) -> None:
    url, iid = incident
    shown = cli("incident", "show", str(iid), db=url)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "Fire \\x1b[2J in B" in shown.stdout
    lines = shown.stdout.splitlines()
    assert "4 people: needs help 1 open / 0 handled, safe 1, no answer 2, unreachable 0" in lines[1]
    assert any("needs help (open)" in line and "person2@example.org" in line and "tel +447700900102" in line
               for line in lines)
    assert "      note: Lift 3, 2nd floor" in lines


def test_handle_and_reopen_from_the_command_line(cli: CliRunner, incident: tuple[str, int]) -> None:
    url, iid = incident
    done = cli("incident", "handle", str(iid), "--contact", "person2@example.org", "--note", "Lift opened",
               "--actor", "officer-a", db=url)
    assert done.returncode == 0, done.stderr
    ((actor, details),) = audit_rows(url, "help.handled")
    assert (actor, details["note"], details["email"]) == ("officer-a", "Lift opened", "person2@example.org")
    again = cli("incident", "handle", str(iid), "--contact", "2", "--note", "x", db=url)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already handled" in again.stderr
    opened = cli("incident", "reopen", str(iid), "--contact", "2", "--actor", "officer-b", db=url)
    assert opened.returncode == 0, opened.stderr
    assert [a for a, _d in audit_rows(url, "help.reopened")] == ["officer-b"]
    for args, words in ((("handle", str(iid), "--contact", "99", "--note", "x"), "no contact with id 99"),
                        (("handle", "77", "--contact", "2", "--note", "x"), "no incident with id 77"),
                        (("show", "77"), "no incident with id 77"),
                        (("handle", str(iid), "--contact", "2"), "--note")):
        bad = cli("incident", *args, db=url)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and words in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr


def test_the_all_clear_is_refused_with_the_counts_then_forced_with_a_reason(
        cli: CliRunner, incident: tuple[str, int]) -> None:
    url, iid = incident
    clear = ("send", "--title", "All clear", "--body", "Back to work.", "--group", "all", "--kind", "all_clear",
             "--incident", str(iid))
    refused = cli(*clear, db=url)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "1 open help request and 2 people unaccounted for (2 without an answer, 0 unreachable)" in refused.stderr
    assert "--force --reason" in refused.stderr
    no_reason = cli(*clear, "--force", db=url)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    not_a_clear = cli("send", "--title", "Update", "--body", "x", "--group", "all", "--kind", "update",
                      "--incident", str(iid), "--force", "--reason", "x", db=url)
    assert not_a_clear.returncode == 2 and "all_clear" in not_a_clear.stderr
    assert json.loads(cli("incident", "list", "--json", db=url).stdout)[0]["messages"] == 1  # nothing sent

    forced = cli(*clear, "--force", "--reason", "Wardens counted everyone at the assembly point",
                 "--actor", "chief", "--json", db=url)
    assert forced.returncode == 0, forced.stderr
    ((actor, details),) = audit_rows(url, "incident.closed")
    assert (actor, details["reason"], details["forced"]) == (
        "chief", "Wardens counted everyone at the assembly point", True)
    assert (details["needs_help_open"], details["no_answer"]) == (1, 2)
    db = Database(url)
    try:
        with db.read() as session:
            inc = session.get_one(Incident, iid)
            assert (inc.state, inc.closed_by, inc.close_reason) == (
                "closed", "chief", "Wardens counted everyone at the assembly point")
    finally:
        db.dispose()
    shown = json.loads(cli("incident", "show", str(iid), "--json", db=url).stdout)
    assert (shown["state"], shown["closed_by"], shown["people"][0]["status"]) == ("closed", "chief", "needs_help")
