"""Directory view: CSV import (good and bad), contacts and groups through their dialogs, 100k rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from console.directory.service import ContactRow, GroupRow, list_contacts, list_groups
from console.gui.bridge import Bridge
from console.gui.models.directory import ContactsModel, GroupsModel
from console.gui.models.table import FilterProxy
from console.gui.tasks import TaskRunner
from console.gui.views.directory import DirectoryView
from console.models import AuditEntry, Contact
from console.storage import Database
from tests.helpers.gui import ACTOR, seed_contacts

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("isolated_qsettings")]

GOOD_CSV = """name,email,phone,groups
Ada Lovelace,ada@example.org,+44 20 7946 0001,Leeds;IT on-call
Alan Turing,alan@example.org,,Leeds
Grace Hopper,grace@example.org,+1 202 555 0143,London
"""
BAD_CSV = """name,email,phone,groups
Ada Lovelace,ada@example.org,,Leeds
,nobody@example.org,,
Alan Turing,not-an-email,,
Grace Hopper,ada@example.org,,
"""


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    return sqlite_db


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.wait_idle(20_000)


@pytest.fixture
def view(qtbot: QtBot, db: Database, tasks: TaskRunner) -> DirectoryView:
    widget = DirectoryView(db, ACTOR, tasks, Bridge())
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitUntil(lambda: widget.groups.model.rowCount() == 1, timeout=10_000)  # 'all' is there from the start
    return widget


def emails(model: FilterProxy) -> list[str]:
    return sorted(model.row_at(r).email for r in range(model.rowCount()))


def contact_count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Contact)) or 0)


def test_import_csv_shows_the_rows_and_filters(qtbot: QtBot, view: DirectoryView, tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    with qtbot.waitSignal(view.import_finished, timeout=20_000) as finished:
        view.import_csv(path)  # what the file dialog calls
    assert finished.args == [True]
    qtbot.waitUntil(lambda: view.contacts.rowCount() == 3, timeout=10_000)
    assert emails(view.contacts_proxy) == ["ada@example.org", "alan@example.org", "grace@example.org"]
    assert view.banner.tone == "ok" and "3 created" in view.banner.text()
    assert view.count_label.text() == "3 contacts"
    assert {g.name: g.members for g in view.groups.model.rows()} == {"all": 3, "IT on-call": 1, "Leeds": 2, "London": 1}

    qtbot.keyClicks(view.filter, "leeds")
    view.filter.flush()
    assert emails(view.contacts_proxy) == ["ada@example.org", "alan@example.org"]
    assert view.count_label.text().startswith("Showing 2 of 3")
    view.filter.clear()
    view.filter.flush()

    assert view.select_group("London")
    assert emails(view.contacts_proxy) == ["grace@example.org"]
    assert view.groups.remove_button.isEnabled() and view.groups.rename_button.isEnabled()
    view.select_group("all")
    assert view.contacts_proxy.rowCount() == 3
    assert not view.groups.remove_button.isEnabled() and not view.groups.rename_button.isEnabled()


def test_invalid_csv_lists_every_problem_and_writes_nothing(qtbot: QtBot, view: DirectoryView, db: Database,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    with qtbot.waitSignal(view.import_finished, timeout=20_000) as finished:
        view.import_csv(path)
    assert finished.args == [False]
    dialog = view.problems_dialog
    assert dialog is not None and dialog.isVisible()
    problems = dialog.problems()
    assert [p.split(":")[1] for p in problems] == ["3", "4", "5"]
    assert "name" in problems[0] and "not-an-email" in problems[1] and "duplicate email" in problems[2]
    assert dialog.list.model().rowCount() == 3
    assert "3 problem" in dialog.banner.text()
    dialog.reject()
    assert contact_count(db) == 0
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_add_and_edit_a_contact_through_the_dialog(qtbot: QtBot, view: DirectoryView, db: Database) -> None:
    with db.write() as session:
        from console.directory.service import save_group

        save_group(session, ACTOR, "Leeds")
        save_group(session, ACTOR, "London")
    view.refresh()
    qtbot.waitUntil(lambda: view.groups.model.rowCount() == 3, timeout=10_000)

    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    dialog = view.contact_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.name, "Ada Lovelace")
    qtbot.keyClicks(dialog.email, "not an email")
    dialog.groups.set_checked("Leeds", True)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10_000)
    assert "not a valid address" in dialog.error.text() and dialog.isVisible()
    assert contact_count(db) == 0

    dialog.email.clear()
    qtbot.keyClicks(dialog.email, "Ada@Example.org")
    qtbot.keyClicks(dialog.phone, "+44 20 7946 0001")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: view.contacts.rowCount() == 1, timeout=10_000)
    with db.read() as session:
        [row] = list_contacts(session)
    assert (row.name, row.email, row.phone, row.groups) == ("Ada Lovelace", "ada@example.org", "+442079460001",
                                                            ["Leeds", "all"])

    assert view.select_contact("ada@example.org")
    qtbot.mouseClick(view.edit_button, Qt.MouseButton.LeftButton)
    edit = view.contact_dialog
    assert edit is not None and edit is not dialog and edit.name.text() == "Ada Lovelace"
    assert edit.groups.checked() == ["Leeds"]
    edit.groups.set_checked("Leeds", False)
    edit.groups.set_checked("London", True)
    qtbot.mouseClick(edit.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.contacts.rowCount() == 1 and view.contacts.row(0).groups == ["London", "all"],
                    timeout=10_000)


def test_groups_add_rename_remove_but_never_all(qtbot: QtBot, view: DirectoryView, db: Database,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(view.groups.add_button, Qt.MouseButton.LeftButton)
    dialog = view.groups.dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.name, "  Site:   Leeds ")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.groups.model.rowCount() == 2, timeout=10_000)
    assert view.groups.names() == ["all", "Site: Leeds"]

    assert view.select_group("Site: Leeds")
    qtbot.mouseClick(view.groups.rename_button, Qt.MouseButton.LeftButton)
    rename = view.groups.dialog
    assert rename is not None and rename.name.text() == "Site: Leeds"
    rename.name.setText("all")
    qtbot.mouseClick(rename.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: rename.error.isVisible(), timeout=10_000)
    assert "already exists" in rename.error.text()
    rename.name.setText("Leeds office")
    qtbot.mouseClick(rename.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.groups.names() == ["all", "Leeds office"], timeout=10_000)

    view.select_group("all")
    assert not view.groups.remove_button.isEnabled()
    view.groups.remove_selected()  # even if called, 'all' stays
    assert "cannot be removed" in view.banner.text()

    view.select_group("Leeds office")
    qtbot.mouseClick(view.groups.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.groups.names() == ["all"], timeout=10_000)
    with db.read() as session:
        assert [g.name for g in list_groups(session)] == ["all"]


def test_remove_contact_asks_first(qtbot: QtBot, view: DirectoryView, db: Database, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    with qtbot.waitSignal(view.loaded, timeout=20_000):
        view.import_csv(path)
    qtbot.waitUntil(lambda: view.contacts.rowCount() == 3, timeout=10_000)
    answers = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: next(answers))
    assert view.select_contact("alan@example.org")
    view.remove_selected_contact()  # "No": nothing happens
    assert contact_count(db) == 3
    qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.contacts.rowCount() == 2, timeout=10_000)
    assert contact_count(db) == 2


def test_models_pass_the_model_tester(qtmodeltester: ModelTester) -> None:
    contacts = ContactsModel()
    contacts.set_rows([ContactRow(i, f"Person {i}", f"p{i}@example.org", None if i % 2 else "+4420", ["all", "X"])
                       for i in range(1, 30)])
    qtmodeltester.check(contacts)
    proxy = FilterProxy(contacts)
    proxy.set_text("p1")
    proxy.sort(ContactsModel.EMAIL, Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(proxy)
    assert [proxy.row_at(r).email for r in range(3)] == ["p10@example.org", "p11@example.org", "p12@example.org"]
    groups = GroupsModel()
    groups.set_rows([GroupRow(1, "all", 29, []), GroupRow(2, "Leeds", 3, ["Ops room"])])
    groups.sort(GroupsModel.MEMBERS, Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(groups)
    assert groups.index(0, GroupsModel.NAME).data() == "Leeds"


@pytest.mark.slow
def test_a_hundred_thousand_contacts_stay_responsive(qtbot: QtBot, view: DirectoryView, db: Database) -> None:
    """Loading runs in a worker and the table's rows have a fixed height; with 100k contacts the
    view still loads, filters and sorts them all. How long the GUI thread takes for each step is
    `python -m console.bench directory`'s to measure (goals there), not a wall-clock assert here."""
    seed_contacts(db, 100_000)
    with qtbot.waitSignal(view.loaded, timeout=60_000) as loaded:
        view.refresh()
    assert loaded.args == [100_000]
    assert view.contacts_proxy.rowCount() == 100_000
    assert view.contacts_table.verticalHeader().sectionResizeMode(0).name == "Fixed"

    view.contacts_proxy.set_text("person09999 example")
    assert view.contacts_proxy.rowCount() == 10  # person099990@ … person099999@
    view.contacts_proxy.set_text("")

    view.contacts_table.sortByColumn(ContactsModel.EMAIL, Qt.SortOrder.DescendingOrder)
    assert view.contacts_proxy.row_at(0).email == "person099999@example.org"
