"""`crisis-console report`: a real incident written as PDF (read back with pdftotext), CSV and JSON,
run as a user would (subprocess), and every kind of bad input refused with nothing written."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from console.report.model import Report, ReportFormat, ReportScope
from console.report.table import COLUMNS
from console.services import audit, incidents, reports
from console.services.audit import AuditFilter
from console.storage import Database
from console.vocabulary import BroadcastKind, DeliveryState
from tests.conftest import unavailable
from tests.helpers.gui import seed
from tests.helpers.incidents import alert, answer, deliver, follow_up

if TYPE_CHECKING:
    from tests.conftest import CliRunner

TITLE = "Fire in building B — Zoë's lab"
PERSON_KEYS = {"name", "email", "status", "answer", "answered_at", "broadcast_id", "source", "note", "help",
               "delivery", "error"}


@pytest.fixture
def incident(sqlite_url: str) -> Iterator[tuple[str, int, int, int]]:
    """Six people, an exercise alert and an update: person2 needs help (note, handled), person1 safe,
    person4 safe on the update with a note that looks like a formula, person3's delivery failed.
    Yields (url, incident id, alert id, update id)."""
    db = Database(sqlite_url)
    try:
        seed(db, 6)
        sent = alert(db, title=TITLE, exercise=True)
        deliver(db, sent.broadcast_id, DeliveryState.SENT)
        deliver(db, sent.broadcast_id, DeliveryState.FAILED, ("person3@example.org",))
        answer(db, sent.broadcast_id, "person2@example.org", "I need help", note="Lift 3, 2nd floor")
        answer(db, sent.broadcast_id, "person1@example.org", "I'm safe")
        update = follow_up(db, sent.broadcast_id, BroadcastKind.UPDATE)
        answer(db, update.broadcast_id, "person4@example.org", "I'm safe", note="=1+1 at the gate")
        incidents.handle(db, sent.incident_id, "person2@example.org", "Warden sent to lift 3", "warden-jo")
        yield sqlite_url, sent.incident_id, sent.broadcast_id, update.broadcast_id
    finally:
        db.dispose()


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext (poppler-utils) is not installed")
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


def incident_hashes(url: str, incident_id: int) -> list[str]:
    db = Database(url)
    try:
        page = audit.search_page(db, AuditFilter(incident_id=incident_id))
        return [row.hash for row in page.rows]
    finally:
        db.dispose()


def test_incident_pdf_holds_the_title_the_counts_the_people_and_the_audit_hashes(
        cli: CliRunner, incident: tuple[str, int, int, int], tmp_path: Path) -> None:
    url, iid, _alert, _update = incident
    out = tmp_path / "incident.pdf"
    done = cli("report", "--incident", str(iid), "--out", out, "--actor", "auditor-ann", db=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"pdf report of incident {iid} (6 people, ") and str(out) in done.stdout
    assert out.read_bytes().startswith(b"%PDF-")
    text = pdf_text(out)
    flat = " ".join(text.split())
    assert TITLE in flat and "EXERCISE" in flat and "by auditor-ann" in flat
    # the counts in people: 6 people, 0 open, 1 handled, 2 safe, 3 without an answer, 0 unreachable
    assert "People Needs help (open) Needs help (handled) Safe No answer Unreachable 6 0 1 2 3 0" in flat
    assert "Person 2" in flat and "person2@example.org" in flat and "Lift 3, 2nd floor" in flat
    assert "handled" in flat and "warden-jo: Warden sent to lift 3" in flat
    assert "Message 1:" in flat and "Message 2: Update" in flat and "Sent by tester at" in flat
    assert "Channels Corp mail" in flat and "Audience all" in flat
    assert "SMTP 550: mailbox unavailable" in flat  # the failure with its reason
    assert "Answers over time" in flat
    hashes = incident_hashes(url, iid)
    assert hashes and all(h[:32] in flat and h[32:] in flat for h in hashes)
    assert f"Audit entries ({len(hashes)})" in flat
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*.part"))


def test_a_message_report_covers_that_message(cli: CliRunner, incident: tuple[str, int, int, int],
                                              tmp_path: Path) -> None:
    url, iid, _alert, update = incident
    out = tmp_path / "update.pdf"
    done = cli("report", str(update), "--out", out, db=url)
    assert done.returncode == 0, done.stderr
    flat = " ".join(pdf_text(out).split())
    assert f"Message {update}: Update" in flat and "Message 1:" not in flat
    assert "at the gate" in flat and "Lift 3, 2nd floor" not in flat  # the note given to this message only
    # in people, for this message: person4 answered it; person2's handled help request is listed, not counted
    assert "People Needs help (open) Needs help (handled) Safe No answer Unreachable 6 0 0 1 5 0" in flat
    assert "warden-jo: Warden sent to lift 3" in flat


def test_csv_and_json_hold_the_people_table(cli: CliRunner, incident: tuple[str, int, int, int],
                                            tmp_path: Path) -> None:
    url, iid, _alert, update_id = incident
    as_csv, as_json = tmp_path / "people.csv", tmp_path / "people.data"
    assert cli("report", "--incident", str(iid), "--out", as_csv, db=url).returncode == 0
    done = cli("report", "--incident", str(iid), "--out", as_json, "--format", "json", "--json", db=url)
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert (said["format"], said["scope"], said["id"], said["people"]) == ("json", "incident", iid, 6)

    raw = as_csv.read_bytes()
    assert raw.startswith("\ufeff".encode()) and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 7
    by_email = {r[1]: dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]}
    first = by_email["person2@example.org"]
    assert (first["status"], first["answer"], first["note"], first["help_state"], first["handled_by"]) == (
        "needs_help", "I need help", "Lift 3, 2nd floor", "handled", "warden-jo")
    assert by_email["person4@example.org"]["note"] == "'=1+1 at the gate"  # a spreadsheet will not run it

    data = json.loads(as_json.read_text(encoding="utf-8"))
    assert set(data) == {"scope", "id", "incident_id", "title", "exercise", "made_at", "counts", "people"}
    assert (data["title"], data["exercise"], data["incident_id"]) == (TITLE, True, iid)
    assert data["counts"] == {"people": 6, "needs_help_open": 0, "needs_help_handled": 1, "safe": 2,
                              "no_answer": 3, "unreachable": 0}
    assert all(set(p) == PERSON_KEYS for p in data["people"]) and len(data["people"]) == 6
    person4 = next(p for p in data["people"] if p["email"] == "person4@example.org")
    assert person4["note"] == "=1+1 at the gate" and person4["broadcast_id"] == update_id


@pytest.mark.parametrize(("args", "words"), [
    (("--incident", "999"), "no incident with id 999"),
    (("999",), "no broadcast with id 999"),
    (("1", "--incident", "1"), "either BROADCAST_ID or --incident"),
    ((), "either BROADCAST_ID or --incident"),
    (("--incident", "1", "--format", "xml"), "--format"),
])
def test_bad_ids_and_choices_exit_2_and_write_nothing(cli: CliRunner, incident: tuple[str, int, int, int],
                                                      tmp_path: Path, args: tuple[str, ...], words: str) -> None:
    url = incident[0]
    folder = tmp_path / "out"
    folder.mkdir()
    done = cli("report", *args, "--out", folder / "r.pdf", db=url)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and words in done.stderr and "Traceback" not in done.stderr
    assert list(folder.iterdir()) == []


def test_an_unwritable_out_exits_2_and_writes_nothing(cli: CliRunner, incident: tuple[str, int, int, int],
                                                      tmp_path: Path) -> None:
    url, iid = incident[0], incident[1]
    folder = tmp_path / "out"
    folder.mkdir()
    a_file = folder / "plain.txt"
    a_file.write_text("x")
    cases = [(folder / "missing" / "r.pdf", "no such folder"), (a_file / "r.pdf", "no such folder"),
             (folder, "is a folder"), (folder / "r.txt", "name a .pdf, .csv or .json file")]
    for out, words in cases:
        done = cli("report", "--incident", str(iid), "--out", out, db=url)
        assert done.returncode == 2, (out, done.stderr)
        assert done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["plain.txt"]


def test_a_failed_write_leaves_neither_a_part_file_nor_a_changed_target(incident: tuple[str, int, int, int],
                                                                        tmp_path: Path) -> None:
    url, iid = incident[0], incident[1]
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "taken.pdf"
    target.mkdir()  # the rename onto a folder fails after the whole report was rendered
    (target / "keep").write_text("mine")
    db = Database(url)
    try:
        with pytest.raises(OSError):
            reports.write_report(db, ReportScope.INCIDENT, iid, target, ReportFormat.PDF, "auditor")
    finally:
        db.dispose()
    assert sorted(p.name for p in folder.iterdir()) == ["taken.pdf"]
    assert [p.name for p in target.iterdir()] == ["keep"]


def test_the_report_cites_the_signed_checkpoint_covering_its_entries(
        cli: CliRunner, incident: tuple[str, int, int, int], tmp_path: Path) -> None:
    url, iid, alert_id, _update = incident
    out = tmp_path / "sealed.pdf"
    db = Database(url)
    try:
        sealed = audit.seal(db)
        fingerprint = audit.public_key().fingerprint
    finally:
        db.dispose()
    done = cli("report", "--incident", str(iid), "--out", out, "--json", db=url)
    assert done.returncode == 0, done.stderr
    cited = json.loads(done.stdout)["checkpoint"]
    assert sealed.checkpoint is not None
    assert (cited["key"], cited["seq"], cited["hash"]) == (fingerprint, sealed.checkpoint.seq, sealed.checkpoint.hash)
    flat = " ".join(pdf_text(out).split())
    assert "Signed checkpoint" in flat and fingerprint in flat
    assert "the signature holds" in flat and f"the log's entry {cited['seq']} has this hash" in flat
    assert sealed.checkpoint.hash in flat.replace(" ", "")

    db = Database(url)
    try:  # an answer after the seal: the newest entry is not covered until the next seal
        answer(db, alert_id, "person5@example.org", "I'm safe")
    finally:
        db.dispose()
    later = tmp_path / "later.pdf"
    assert cli("report", "--incident", str(iid), "--out", later, db=url).returncode == 0
    flat = " ".join(pdf_text(later).split())
    assert "covers entry" in flat and "not sealed" in flat and fingerprint not in flat


def test_a_named_checkpoint_file_that_is_missing_exits_2(cli: CliRunner, incident: tuple[str, int, int, int],
                                                         tmp_path: Path) -> None:
    url, iid = incident[0], incident[1]
    out = tmp_path / "r.pdf"
    done = cli("report", "--incident", str(iid), "--out", out, "--checkpoints", tmp_path / "nope.jsonl", db=url)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "nope.jsonl" in done.stderr
    assert not out.exists()


def test_read_only_mode_makes_reports(cli: CliRunner, incident: tuple[str, int, int, int], tmp_path: Path) -> None:
    url, iid = incident[0], incident[1]
    out = tmp_path / "auditor.csv"
    done = cli("--read-only", "report", "--incident", str(iid), "--out", out, db=url)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 7


def test_gather_on_sqlite_and_postgresql(db_url: str) -> None:
    """The same incident gathers the same on both databases (the report's queries are the services')."""
    db = Database(db_url)
    try:
        seed(db, 3)
        sent = alert(db, title="Storm warning")
        deliver(db, sent.broadcast_id, DeliveryState.FAILED, ("person1@example.org",))
        answer(db, sent.broadcast_id, "person3@example.org", "I need help", note="Roof leaking")
        report = reports.gather(db, ReportScope.INCIDENT, sent.incident_id, "auditor")
        single = reports.gather(db, ReportScope.BROADCAST, sent.broadcast_id, "auditor")
    finally:
        db.dispose()
    assert (report.title, report.counts.people, report.counts.needs_help_open) == ("Storm warning", 3, 1)
    assert [p.email for p in report.people][0] == "person3@example.org" and report.people[0].note == "Roof leaking"
    assert [(f.who, f.reason) for f in report.failures] == [("Person 1 <person1@example.org>",
                                                             "SMTP 550: mailbox unavailable")]
    assert {e.action for e in report.audit} >= {"broadcast.alert", "ack.answer", "help.opened"}
    assert len(report.messages) == 1 and report.messages[0].channels == ("Corp mail",)
    assert single.counts == report.counts
    def standing(r: Report) -> list[tuple[object, ...]]:
        return [(p.email, p.status, p.answer, p.note, p.help) for p in r.people]

    assert standing(single) == standing(report)
    # one message: how its own deliveries stand, with the reason of a failed one
    assert [(p.email, p.delivery, p.error) for p in single.people if p.error] == [
        ("person1@example.org", "failed", "SMTP 550: mailbox unavailable")]
