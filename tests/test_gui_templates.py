"""Templates view: create, edit and delete through the editor, presets, errors shown, model checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from console.gui.models.templates import TemplatesModel
from console.gui.views.templates import TemplatesView
from console.storage import Database
from console.templates import TemplateRow, list_templates
from tests.helpers.gui import ACTOR, shown_view

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("isolated_qsettings")]


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    return sqlite_db


@pytest.fixture
def view(qtbot: QtBot, db: Database) -> Iterator[TemplatesView]:
    with shown_view(qtbot, TemplatesView, db, (1200, 800)) as widget:
        yield widget


def stored(db: Database) -> list[TemplateRow]:
    with db.read() as session:
        return list_templates(session)


def test_create_edit_delete(qtbot: QtBot, view: TemplatesView, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(view.name, "Fire evacuation")
    qtbot.keyClicks(view.title, "Fire alarm: leave the building now")
    view.severity.setCurrentIndex(view.severity.findData("critical"))
    qtbot.keyClicks(view.body, "Leave by the nearest exit. Do not use the lifts.")
    view.preset.setCurrentIndex(view.preset.findData("safety_check"))
    view.preset.activated.emit(view.preset.currentIndex())
    assert view.current_options() == ["I'm safe", "I need help"]
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    [row] = stored(db)
    assert (row.name, row.title, row.severity, row.options) == (
        "Fire evacuation", "Fire alarm: leave the building now", "critical", ("I'm safe", "I need help"))
    assert view.model.rowCount() == 1 and view.table.selectionModel().selectedRows()
    assert view.model.index(0, TemplatesModel.SEVERITY).data() == "Critical"
    assert view.model.index(0, TemplatesModel.OPTIONS).data() == "I'm safe / I need help"
    assert view.banner.tone == "ok" and view.delete_button.isEnabled()

    view.body.setPlainText("Leave now. Assembly point: car park B.")
    view.options.setPlainText("Acknowledge")
    assert view.preset.currentData() == "acknowledge"
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    [row] = stored(db)
    assert (row.body, row.options) == ("Leave now. Assembly point: car park B.", ("Acknowledge",))

    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    assert view.title.text() == "" and not view.delete_button.isEnabled()
    qtbot.keyClicks(view.title, "Storm warning")
    qtbot.keyClicks(view.body, "Work from home tomorrow.")
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.save()
    assert [t.name for t in stored(db)] == ["Fire evacuation", "Storm warning"]

    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    assert view.select_template(stored(db)[0].id)
    assert view.title.text() == "Fire alarm: leave the building now"
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    assert [t.name for t in stored(db)] == ["Storm warning"]
    assert view.model.rowCount() == 1 and view.title.text() == ""


def test_errors_are_shown_and_nothing_is_saved(qtbot: QtBot, view: TemplatesView, db: Database) -> None:
    qtbot.keyClicks(view.title, "No body")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.banner.tone == "error" and view.banner.isVisible(), timeout=10_000)
    assert "body" in view.banner.text()
    view.body.setPlainText("Text")
    view.options.setPlainText("Yes\nYes")
    assert view.preset.currentData() == "custom"
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "twice" in view.banner.text(), timeout=10_000)
    assert stored(db) == [] and view.save_button.isEnabled()


def test_filter_and_model_tester(qtbot: QtBot, qtmodeltester: ModelTester, view: TemplatesView, db: Database) -> None:
    from console.templates import save_template

    with db.write() as session:
        save_template(session, ACTOR, title="Fire alarm", body="Leave now.", severity="critical")
        save_template(session, ACTOR, title="IT outage", body="Email is down.", severity="warning")
        save_template(session, ACTOR, title="Office closed", body="Snow.", severity="info")
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.bridge.data_changed.emit("templates")
    assert view.model.rowCount() == 3
    view.filter.setText("email")
    view.filter.flush()
    assert view.proxy.rowCount() == 1 and view.proxy.row_at(0).title == "IT outage"
    view.table.sortByColumn(TemplatesModel.SEVERITY, Qt.SortOrder.DescendingOrder)
    view.filter.setText("")
    view.filter.flush()
    assert [view.proxy.row_at(r).severity for r in range(3)] == ["critical", "warning", "info"]
    assert view.model.index(0, TemplatesModel.SEVERITY).data(Qt.ItemDataRole.DecorationRole) is not None
    qtmodeltester.check(view.model)
    qtmodeltester.check(view.proxy)
