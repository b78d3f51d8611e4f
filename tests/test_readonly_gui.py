"""Read-only mode in the desktop: every page opens, no control that sends or changes anything is
left enabled, a "read-only" badge shows, no embedded dispatcher or answer service starts, and the
database is exactly as it was afterwards; `crisis-console --read-only` starts and quits cleanly.

The walk judges controls two ways: by the tag a view puts on a write control (console.gui.readonly)
and, as a net for a control someone forgot to tag, by what its text says it does.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot

from console.gui.prefs import Preferences
from console.gui.readonly import BADGE_NAME, edits, writes
from console.gui.services import OFF
from console.storage import open_database
from tests.helpers.appprocess import run_until_signalled
from tests.helpers.auditdata import dump, populate
from tests.helpers.gui import isolate_qsettings
from tests.helpers.readonly import open_window, walk

pytestmark = pytest.mark.gui


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[str, Path, int, int]:
    """(URL, file, incident id, broadcast id) of a SQLite database an auditor would open."""
    path = tmp_path / "console.db"
    url = f"sqlite:///{path}"
    db = open_database(url)
    try:
        incident_id, broadcast_id = populate(db)
    finally:
        db.dispose()
    return url, path, incident_id, broadcast_id


@pytest.fixture
def prefs(tmp_path: Path) -> Preferences:
    isolate_qsettings(tmp_path / "qsettings")
    return Preferences()


def test_a_read_only_console_offers_nothing_that_writes(qtbot: QtBot, seeded: tuple[str, Path, int, int],
                                                        prefs: Preferences) -> None:
    url, path, incident_id, broadcast_id = seeded
    before = dump(path)
    db = open_database(url, create=False, read_only=True)
    try:
        with open_window(qtbot, db, prefs) as (window, services):
            # no embedded dispatcher or answer service, even though build() was asked for them
            assert not services.embedded and (services.state.dispatcher, services.state.ack) == (OFF, OFF)
            badge = window.findChild(QLabel, BADGE_NAME)
            assert badge is not None and badge.text() == "read-only" and badge.isVisible()
            assert "read-only" in window.windowTitle()
            assert not window.status.dispatcher.isVisible() and not window.status.ack.isVisible()

            seen = walk(qtbot, window, incident_id, broadcast_id)
            assert set(seen) >= {"compose", "directory", "channels", "templates", "audit", "settings",
                                 "broadcasts: a message", "broadcasts: the incident, a person who needs help"}
            assert {where: live for where, live in seen.items() if live} == {}
            # every tagged control anywhere is off, shown or not
            widgets = [w for w in window.findChildren(QWidget) if writes(w)]
            actions = [a for a in window.findChildren(QAction) if writes(a)]
            assert len(widgets) + len(actions) >= 20
            assert [w.objectName() for w in widgets if w.isEnabled()] == []
            assert [a.text() for a in actions if a.isEnabled() or a.isVisible()] == []

            # fields only there to be saved (settings, a template's text) show their values, not for editing
            fields = [f for f in window.findChildren(QWidget) if edits(f)]
            settings_fields = [f for f in window.page("settings").findChildren(QWidget) if edits(f)]
            assert len(settings_fields) >= 5 and len(fields) >= len(settings_fields) + 7
            editable = [f.objectName() or type(f).__name__ for f in fields
                        if (f.isEnabled() and not (isinstance(f, QLineEdit | QPlainTextEdit) and f.isReadOnly()))]
            assert editable == []

            # a view turning a control on again (a selection change does) does not bring it back
            directory = window.page("directory")
            edit = next(b for b in directory.findChildren(QAbstractButton) if b.text() == "Edit")
            edit.setEnabled(True)
            edit.show()
            assert not edit.isEnabled() and not edit.isVisibleTo(directory)
            edit.click()  # a disabled button does nothing
            assert window.findChildren(QWidget, "contactDialog") == []
    finally:
        db.dispose()
    assert dump(path) == before  # nothing written: no migration, no key check, no audit entry


def test_the_same_walk_finds_the_write_controls_of_a_writable_console(
        qtbot: QtBot, seeded: tuple[str, Path, int, int], prefs: Preferences) -> None:
    """The walk is not blind: with a writable database it finds the controls the read-only console hides."""
    url, _path, incident_id, broadcast_id = seeded
    db = open_database(url)
    try:
        with open_window(qtbot, db, prefs, embedded=False) as (window, _services):  # the buttons, not the services
            seen = walk(qtbot, window, incident_id, broadcast_id)
            assert window.findChild(QLabel, BADGE_NAME) is None
            texts = {where: " ".join(live) for where, live in seen.items()}
            assert "Send…" in texts["compose"]
            assert "Remind those without an answer" in texts["broadcasts: a message"]
            assert "Mark handled…" in texts["broadcasts: the incident, a person who needs help"]
            assert "Close incident…" in texts["broadcasts: the incident, a person who needs help"]
            assert all(word in texts["directory"] for word in ("Add contact", "Edit", "Remove", "Import CSV…"))
            assert all(word in texts["channels"] for word in ("Add channel", "Edit", "Disable", "Send test…"))
            assert "Save template" in texts["templates"]
            save = [b.text() for b in window.page("settings").findChildren(QAbstractButton) if writes(b)]
            assert save == ["Save settings"]  # on once a field is changed
            assert "New message" in texts["window menus"]
    finally:
        db.dispose()


@pytest.mark.parametrize("how", [["--read-only"], ["gui", "--read-only"], ["gui"]],
                         ids=["flag", "gui-flag", "env"])
def test_the_command_opens_the_console_read_only(seeded: tuple[str, Path, int, int], how: list[str]) -> None:
    """`crisis-console --read-only` (or env CRISIS_CONSOLE_READ_ONLY=1) starts, quits cleanly, writes nothing."""
    url, path, _incident, _broadcast = seeded
    before = dump(path)
    env = dict(os.environ, CRISIS_CONSOLE_READ_ONLY="1") if how == ["gui"] else None
    status, out, err = run_until_signalled(["--db", url, *how], signal.SIGTERM, env)
    assert status == 0, err
    assert "Traceback" not in out + err
    assert dump(path) == before
