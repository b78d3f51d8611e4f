"""Audit view: filters, pages, verify (whole and tampered), export to CSV and JSON."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDateTime, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from console import audit
from console.audit.search import PAGE, AuditRow
from console.gui.models.audit import AuditModel
from console.gui.views.audit import AuditView
from console.storage import Database, open_database
from tests.helpers.gui import shown_view

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("isolated_qsettings")]


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = open_database(sqlite_url)
    with database.write() as session:
        audit.append(session, "alice", "contacts.add", "ada@example.org", {"id": 1})
        audit.append(session, "bob", "broadcast.alert", "broadcast 7", {"title": "Fire alarm"})
        audit.append(session, "alice", "channels.add", "Corp mail", {"url": "mailto://…"})
        audit.append(session, "bob", "broadcast.update", "broadcast 7", {"title": "All out"})
    yield database
    database.dispose()


@pytest.fixture
def view(qtbot: QtBot, db: Database) -> Iterator[AuditView]:
    with shown_view(qtbot, AuditView, db, (1300, 800)) as widget:
        yield widget


def shown(view: AuditView) -> list[int]:
    return [view.model.row(r).seq for r in range(view.model.rowCount())]


def test_newest_first_and_filters(qtbot: QtBot, view: AuditView) -> None:
    assert shown(view) == [4, 3, 2, 1]
    assert view.model.index(0, AuditModel.ACTION).data() == "broadcast.update"
    assert [view.filters.action_edit.itemText(i) for i in range(view.filters.action_edit.count())] == [
        "", "broadcast.alert", "broadcast.update", "channels.add", "contacts.add"]

    qtbot.keyClicks(view.filters.actor_edit, "alice")
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.keyClick(view.filters.actor_edit, Qt.Key.Key_Return)
    assert shown(view) == [3, 1]

    view.filters.actor_edit.clear()
    qtbot.keyClicks(view.filters.text_edit, "broadcast 7")
    view.filters.action_edit.setCurrentText("update")
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.mouseClick(view.filters.apply_button, Qt.MouseButton.LeftButton)
    assert shown(view) == [4]

    tomorrow = QDateTime.currentDateTime().addDays(1)
    view.filters.since.setDateTime(tomorrow)
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.apply_filter()
    assert shown(view) == []
    view.filters.since.setDateTime(QDateTime.currentDateTime().addDays(-1))
    view.filters.until.setDateTime(tomorrow)
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.apply_filter()
    assert shown(view) == [4]

    with qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.mouseClick(view.filters.clear_button, Qt.MouseButton.LeftButton)
    assert shown(view) == [4, 3, 2, 1]
    assert view.filters.since.text() == "Any time"


def test_verify_ok_then_tampered_names_the_entry(qtbot: QtBot, view: AuditView, db: Database) -> None:
    with qtbot.waitSignal(view.verified, timeout=10_000) as verified:
        qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)
    assert verified.args[0].ok
    assert view.banner.tone == "ok" and "OK" in view.banner.text() and "4 entries" in view.banner.text()
    assert "cannot exclude a rewrite" in view.banner.text()  # what only checkpoints can prove, said plainly

    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'x' WHERE seq = 1"))
    with qtbot.waitSignal(view.verified, timeout=10_000) as verified:
        qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)
    assert not verified.args[0].ok
    assert view.banner.tone == "error" and view.banner.isVisible()
    assert "seq 1" in view.banner.text() and "hash does not match" in view.banner.text()


def test_export_csv_and_json(qtbot: QtBot, view: AuditView, tmp_path: Path) -> None:
    out = tmp_path / "log.csv"
    with qtbot.waitSignal(view.exported, timeout=10_000) as exported:
        view.export_to(out, "csv")  # what the file dialog calls
    assert exported.args == [4]
    with out.open(encoding="utf-8-sig", newline="") as handle:  # the export starts with a BOM for spreadsheets
        proof, *rows = list(csv.DictReader(handle))
    assert proof["seq"] == "#proof" and json.loads(proof["details"])["count"] == 4  # the export's own proof first
    assert [r["seq"] for r in rows] == ["1", "2", "3", "4"] and proof["hash"] == rows[-1]["hash"]
    out_json = tmp_path / "log.json"
    with qtbot.waitSignal(view.exported, timeout=10_000):
        view.export_to(out_json, "json")
    document = json.loads(out_json.read_text(encoding="utf-8"))
    entries = document["entries"]
    assert document["count"] == 4 and document["head"]["hash"] == entries[-1]["hash"]
    assert entries[1]["details"] == {"title": "Fire alarm"} and str(out_json) in view.banner.text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_pages_are_fetched_as_the_table_scrolls(qtbot: QtBot, view: AuditView, db: Database) -> None:
    with db.write() as session:
        for i in range(PAGE + 150):
            audit.append(session, "load", "test.entry", f"entry {i}", {})
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    assert view.model.rowCount() == PAGE and not view.model.complete
    assert "scroll for more" in view.count_label.text()

    def scrolled_to_the_end() -> bool:
        view.table.scrollToBottom()
        return view.model.rowCount() == PAGE + 154

    qtbot.waitUntil(scrolled_to_the_end, timeout=10_000)
    assert view.model.complete and shown(view)[-1] == 1
    assert shown(view) == sorted(shown(view), reverse=True)


def test_reloads_when_something_is_audited(qtbot: QtBot, view: AuditView, db: Database) -> None:
    with db.write() as session:
        audit.append(session, "carol", "settings.set", "org.name", {"new": "Acme"})
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.bridge.data_changed.emit("settings")
    assert shown(view)[0] == 5


def test_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = AuditModel()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    requested: list[int] = []
    model.more_wanted.connect(requested.append)
    model.start([AuditRow(3, now, "a", "x.y", "s", "{}"), AuditRow(2, now, "b", "x.z", "t", '{"k":1}')], False)
    assert model.canFetchMore()
    qtmodeltester.check(model)  # the tester fetches more: one page is asked for, and only one at a time
    assert requested == [2] and not model.canFetchMore()
    model.add_page([AuditRow(1, now, "c", "x.y", "u", "{}")], True)
    assert not model.canFetchMore() and model.rowCount() == 3
    qtmodeltester.check(model)
