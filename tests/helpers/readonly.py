"""Read-only mode in the desktop, for tests: open the whole console, walk every page, list what could still write.

A control counts as writing when its view tagged it (console.gui.readonly.mark_writes) or, as a
net for one someone forgot to tag, when its text says it sends or changes something.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtGui import QAction, QShortcut
from PySide6.QtWidgets import QAbstractButton, QTableView, QWidget
from pytestqt.qtbot import QtBot

from console.gui.app import build
from console.gui.mainwindow import MainWindow
from console.gui.prefs import Preferences
from console.gui.readonly import writes
from console.gui.services import Services
from console.gui.views.broadcast.dashboard import BroadcastsView
from console.storage import Database
from tests.helpers.gui import ACTOR

HELPER = "person2@example.org"
PAGES = ["compose", "broadcasts", "directory", "channels", "templates", "audit", "settings"]
WRITE_WORDS = re.compile(
    r"\b(send|remind|cancel|import|add|delete|save|edit|mark handled|reopen|close incident|test|remove|rename|"
    r"disable|new|call|email|all-clear|update)\b", re.IGNORECASE)
"""What a control that sends or changes something says it does."""


@contextmanager
def open_window(qtbot: QtBot, db: Database, prefs: Preferences,
                embedded: bool = True) -> Iterator[tuple[MainWindow, Services]]:
    """The whole console on `db`, asked to start its embedded services (unless not `embedded`); its work
    waited for at the end."""
    window, services = build(db, ACTOR, embedded_services=embedded, prefs=prefs)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    with qtbot.waitExposed(window):
        window.show()
    try:
        yield window, services
    finally:
        services.stop()
        broadcasts = window.page("broadcasts")
        assert isinstance(broadcasts, BroadcastsView)
        broadcasts.timer.stop()
        services.tasks.wait_idle(20_000)


def has_rows(page: QWidget) -> bool:
    """True once the page's tables have loaded (or when it has none)."""
    tables = page.findChildren(QTableView)
    return not tables or any(t.model() is not None and t.model().rowCount() > 0 for t in tables)


def select_rows(page: QWidget) -> None:
    """Select the first row of every table on the page: what turns Edit, Remove… on in a writable console."""
    for table in page.findChildren(QTableView):
        if table.model() is not None and table.model().rowCount() > 0:
            table.selectRow(0)


def live_write_controls(page: QWidget) -> list[str]:
    """Controls on `page` that are usable now and send or change something (tagged, or by their text)."""
    found: list[str] = []
    for button in page.findChildren(QAbstractButton):
        usable = button.isEnabled() and button.isVisibleTo(page)
        says_it_writes = not button.isCheckable() and WRITE_WORDS.search(button.text().replace("&", ""))
        if usable and (writes(button) or says_it_writes):  # check boxes are fields of a form, not actions
            found.append(f"button {button.text()!r}")
    for action in page.findChildren(QAction):
        if action.isEnabled() and action.isVisible() and (writes(action) or WRITE_WORDS.search(
                action.text().replace("&", ""))):
            found.append(f"action {action.text()!r}")
    for shortcut in page.findChildren(QShortcut):
        if shortcut.isEnabled() and writes(shortcut):
            found.append(f"shortcut {shortcut.key().toString()!r}")
    return found


def walk(qtbot: QtBot, window: MainWindow, incident_id: int, broadcast_id: int) -> dict[str, list[str]]:
    """Open every page in every state that shows actions; what each offers that writes."""
    seen: dict[str, list[str]] = {}
    for key in PAGES:
        window.show_page(key)
        page = window.page(key)
        qtbot.waitUntil(lambda p=page: p.isVisible(), timeout=10_000)  # type: ignore[misc]
        if key == "broadcasts":
            assert isinstance(page, BroadcastsView)
            with qtbot.waitSignal(page.detail_applied, timeout=10_000):
                page.select_broadcast(broadcast_id)
            seen["broadcasts: a message"] = live_write_controls(page)
            panel = page.incident_panel
            with qtbot.waitSignal(panel.applied, timeout=10_000):
                page.select_incident(incident_id)
            qtbot.waitUntil(lambda p=panel: p.select_person(HELPER), timeout=10_000)  # type: ignore[misc]
            seen["broadcasts: the incident, a person who needs help"] = live_write_controls(page)
            continue
        qtbot.waitUntil(lambda p=page: has_rows(p), timeout=10_000)  # type: ignore[misc]
        select_rows(page)
        seen[key] = live_write_controls(page)
    seen["window menus"] = [f"action {a.text()!r}" for a in window.findChildren(QAction)
                            if a.isEnabled() and a.isVisible() and (writes(a) or WRITE_WORDS.search(
                                a.text().replace("&", "")))]
    return seen
