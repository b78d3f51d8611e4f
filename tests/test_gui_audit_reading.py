"""Audit view for reading: the whole entry in a detail pane, filters by incident, broadcast and person,
and "Verify against checkpoints" naming a rewrite (real SQLite files, real signed checkpoints)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from console import audit
from console.audit.chain import canonical, entry_hash
from console.audit.log import HEAD_SETTING
from console.gui.models.audit import AuditModel, pretty_details
from console.gui.views.audit import AuditView
from console.services import audit as audit_service
from console.services import settings
from console.services.audit import AuditFilter
from console.storage import Database, open_database
from tests.helpers.gui import seed, shown_view
from tests.helpers.incidents import alert, answer

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("isolated_qsettings")]

NOTE = "Stairwell B blocked by smoke; took the east exit with two visitors — café, 😀 " * 3  # under NOTE_MAX
LONG = "A long account of what happened, every word kept. " * 40


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = open_database(sqlite_url)
    seed(database, 3)
    first = alert(database)
    second = alert(database, groups=("London",), title="Flood in the car park")
    answer(database, first.broadcast_id, "person1@example.org", "I need help", note=NOTE.strip())
    answer(database, second.broadcast_id, "person2@example.org", "I'm safe")
    with database.write() as session:
        audit.append(session, "auditor", "test.numbers", "numbers",
                     {"ms": 532.5, "list": [1, 2, 3], "ü": None, "account": LONG})
    yield database
    database.dispose()


@pytest.fixture
def view(qtbot: QtBot, db: Database) -> Iterator[AuditView]:
    with shown_view(qtbot, AuditView, db, (1400, 900)) as widget:
        qtbot.waitUntil(lambda: widget.filters.incident_edit.count() == 3, timeout=10_000)  # "" + two incidents
        yield widget


def shown(view: AuditView) -> list[int]:
    return [view.model.row(r).seq for r in range(view.model.rowCount())]


def expected(db: Database, flt: AuditFilter) -> list[int]:
    return [r.seq for r in audit_service.search_page(db, flt).rows]


def apply(qtbot: QtBot, view: AuditView) -> None:
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.mouseClick(view.filters.apply_button, Qt.MouseButton.LeftButton)


def test_the_detail_pane_shows_the_selected_entry_whole(qtbot: QtBot, view: AuditView, db: Database) -> None:
    assert "Select an entry" in view.detail.plain_text()
    number = view.model.find(lambda r: r.action == "ack.answer" and r.actor == "person1@example.org")
    row = view.model.row(number)
    rect = view.table.visualRect(view.model.index(number, AuditModel.ACTION))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    shown_text = view.detail.plain_text()
    assert view.detail.row == row and f"Entry {row.seq}" == view.detail.title.text()
    for part in (row.time, row.actor, row.action, row.subject, row.hash, row.prev_hash, "RFC 8785"):
        assert part in shown_text.replace("\n", "")  # a hash may wrap, but all of it is there
    assert NOTE.strip() in view.detail.details.toPlainText()
    assert json.loads(view.detail.details.toPlainText()) == json.loads(row.details)
    # Nothing cut off sideways: both parts wrap instead of scrolling or eliding.
    assert view.detail.details.horizontalScrollBar().maximum() == 0
    assert view.detail.fields.horizontalScrollBar().maximum() == 0

    with qtbot.waitSignal(view.loaded, timeout=10_000):  # a reload keeps the entry selected
        view.refresh()
    assert view.detail.row == row and view.table.currentIndex().row() == view.model.find(lambda r: r.seq == row.seq)

    view.select_row(0)  # the newest: numbers exactly as stored, a long text whole
    details = view.detail.details.toPlainText()
    assert '"ms": 532.5' in details and '"ü": null' in details and LONG in details
    assert view.detail.details.horizontalScrollBar().maximum() == 0


def test_details_are_shown_as_stored_duplicates_and_numbers_included() -> None:
    text_, parsed = pretty_details('{"answer":"I\'m safe","answer":"I need help","n":532.0,"big":1e400,"e":{}}')
    assert parsed
    assert text_ == ('{\n  "answer": "I\'m safe",\n  "answer": "I need help",\n  "n": 532.0,\n  "big": 1e400,\n'
                     '  "e": {}\n}')
    assert pretty_details("not json {") == ("not json {", False)


def test_filters_by_incident_broadcast_and_person(qtbot: QtBot, view: AuditView, db: Database) -> None:
    everything = shown(view)
    # The incident list, newest first, chosen by title; entries of its broadcast, answers and help request.
    assert "Flood in the car park" in view.filters.incident_edit.itemText(1)
    view.filters.incident_edit.setCurrentIndex(2)
    incident = int(view.filters.incident_edit.currentData())
    apply(qtbot, view)
    assert shown(view) == expected(db, AuditFilter(incident_id=incident)) and 0 < len(shown(view)) < len(everything)
    assert {"broadcast.alert", "ack.answer", "help.opened"} <= {view.model.row(r).action
                                                                for r in range(view.model.rowCount())}

    view.filters.incident_edit.setCurrentText("")
    qtbot.keyClicks(view.filters.broadcast_edit, "2")
    apply(qtbot, view)
    assert shown(view) == expected(db, AuditFilter(broadcast_id=2)) and shown(view)
    assert all("2" in view.model.row(r).subject or '"broadcast":2' in view.model.row(r).details
               for r in range(view.model.rowCount()))

    view.filters.broadcast_edit.clear()
    qtbot.keyClicks(view.filters.person_edit, "person 1")  # the full name, any case
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.keyClick(view.filters.person_edit, Qt.Key.Key_Return)
    by_name = shown(view)
    assert by_name == expected(db, AuditFilter(person="person1@example.org")) and by_name
    assert {view.model.row(r).action for r in range(view.model.rowCount())} >= {"contacts.add", "ack.answer"}

    view.filters.incident_edit.setCurrentText("the big one")  # not a number: named, and the table is left as it was
    qtbot.mouseClick(view.filters.apply_button, Qt.MouseButton.LeftButton)
    assert view.banner.tone == "error" and "Incident" in view.banner.text() and shown(view) == by_name

    with qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.mouseClick(view.filters.clear_button, Qt.MouseButton.LeftButton)
    assert shown(view) == everything and view.filters.person_edit.text() == "" and not view.banner.isVisible()

    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.show_entries_of(incident_id=incident)
    assert shown(view) == expected(db, AuditFilter(incident_id=incident))
    assert view.filters.incident_edit.currentText() == view.filters.incident_edit.itemText(2)  # shown by its title


def rewrite(db: Database, seq: int, details: dict[str, object]) -> None:
    """An insider's rewrite: change one entry, recompute the chain from it and move the head (README recipe)."""
    with db.engine.begin() as conn:
        rows = conn.execute(text("SELECT seq, time, actor, action, subject, details, prev_hash, canon FROM audit_log "
                                 "WHERE seq >= :s ORDER BY seq"), {"s": seq}).all()
        prev = rows[0].prev_hash
        for row in rows:
            body = details if row.seq == seq else json.loads(row.details)
            digest = entry_hash(prev, canonical(row.seq, row.time, row.actor, row.action, row.subject, body, row.canon))
            conn.execute(text("UPDATE audit_log SET details = :d, prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"d": json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                          "p": prev, "h": digest, "s": row.seq})
            prev = digest
        conn.execute(text("UPDATE settings SET value = :v WHERE key = :k"),
                     {"v": f"{rows[-1].seq}:{prev}", "k": HEAD_SETTING})


def test_verify_against_checkpoints_ok_then_a_rewrite_is_named(qtbot: QtBot, view: AuditView, db: Database,
                                                                tmp_path: Path) -> None:
    checkpoints = tmp_path / "auditors" / "checkpoints.jsonl"
    checkpoints.parent.mkdir()
    settings.set_many(db, {"audit.checkpoints": str(checkpoints)}, "auditor")
    sealed = audit_service.seal(db).checkpoint  # signed with this machine's key (the tests' own key dir)
    assert sealed is not None
    key = audit_service.public_key()
    key_file = tmp_path / "auditors" / "public.txt"
    key_file.write_text(key.text + "\n", encoding="utf-8")

    def verify(file: Path | None, public_key: str) -> object:
        dialog = view.verify_checkpoints()
        assert view.checkpoint_dialog is dialog and dialog.isVisible()
        qtbot.waitUntil(lambda: dialog.file_edit.text() != "", timeout=10_000)  # the configured file, shown
        if file is not None:
            dialog.file_edit.setText(str(file))
        dialog.key_edit.setText(public_key)
        with qtbot.waitSignal(view.checkpoints_verified, timeout=20_000) as done:
            qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        assert not dialog.isVisible()
        return done.args[0]

    dialog = view.verify_checkpoints()  # the configured file is the default
    qtbot.waitUntil(lambda: dialog.file_edit.text() == str(checkpoints), timeout=10_000)
    dialog.reject()
    result = verify(None, key.text)
    assert result.ok and view.banner.tone == "ok"  # type: ignore[attr-defined]
    assert f"OK: {sealed.count} entries" in view.banner.text() and key.fingerprint in view.banner.text()

    rewrite(db, 5, {"answer": "I'm safe", "note": "rewritten"})
    assert audit_service.verify(db).ok  # the chain alone cannot tell
    result = verify(checkpoints, str(key_file))  # the key from a file this time
    assert not result.ok and view.banner.tone == "error"  # type: ignore[attr-defined]
    banner = view.banner.text()
    assert "rewritten" in banner and f"seq 1..{sealed.seq}" in banner and "checkpoint #1 (line 1" in banner

    dialog = view.verify_checkpoints()  # a wrong file: said in the dialog, which stays open with the input
    dialog.file_edit.setText(str(tmp_path / "missing.jsonl"))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=20_000)
    assert "missing.jsonl" in dialog.error.text() and dialog.isVisible()
    assert dialog.file_edit.text().endswith("missing.jsonl") and dialog.save_button.isEnabled()
    dialog.reject()
