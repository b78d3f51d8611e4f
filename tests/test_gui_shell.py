"""The main window and its wiring: embedded services, navigation and shortcuts, status bar,
remembered geometry and theme, and the settings view."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QLineEdit, QMainWindow
from pytestqt.qtbot import QtBot

from console import settings
from console.gui import resources
from console.gui.app import build
from console.gui.mainwindow import MainWindow
from console.gui.prefs import APPLICATION, ORGANIZATION, Preferences, user_store
from console.gui.services import FAILED, OFF, RUNNING, STARTING, Services
from console.gui.views.directory import DirectoryView
from console.gui.views.settings import SettingsView
from console.storage import Database, open_database
from tests.helpers.gui import ACTOR, isolate_qsettings

pytestmark = pytest.mark.gui

PAGES = ["compose", "broadcasts", "directory", "channels", "templates", "audit", "settings"]


@pytest.fixture(autouse=True)
def qsettings_dir(tmp_path: Path) -> Path:
    return isolate_qsettings(tmp_path / "qsettings")


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = open_database(sqlite_url)
    with database.write() as session:
        settings.set_value(session, "ack.host", "127.0.0.1", ACTOR)
        settings.set_value(session, "ack.port", "0", ACTOR)
    yield database
    database.dispose()


@pytest.fixture
def app_window(qtbot: QtBot, db: Database) -> Iterator[tuple[MainWindow, Services]]:
    window, services = build(db, ACTOR, embedded_services=False)
    qtbot.addWidget(window)
    yield window, services
    services.stop()


def shown(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitExposed(window):
        window.show()
    with qtbot.waitActive(window):
        window.activateWindow()


def test_build_starts_and_stops_the_embedded_services(qtbot: QtBot, db: Database) -> None:
    before = {t.name for t in threading.enumerate()}
    window, services = build(db, ACTOR)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: services.state.ack == RUNNING and services.state.dispatcher == RUNNING,
                        timeout=20_000)
        assert services.ack_url and services.ack_url.startswith("http://127.0.0.1:")
        assert services.public_url == "http://127.0.0.1:8765"
        health = requests.get(f"{services.ack_url}/healthz", timeout=10)
        assert health.status_code == 200
        status = window.status
        assert status.ack.state() == RUNNING and status.ack.text() == "Answers: up at http://127.0.0.1:8765"
        assert services.ack_url in status.ack.toolTip()
        assert status.dispatcher.text() == "Sending: running"
    finally:
        services.stop()
    assert services.state.ack == OFF and services.state.dispatcher == OFF
    assert window.status.ack.state() == OFF
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{health.url}", timeout=2)
    leftover = {t.name for t in threading.enumerate() if t.is_alive()} - before
    assert not {n for n in leftover if n.startswith(("dispatch-", "ack-"))}


def test_a_dispatcher_process_that_dies_is_started_again(qtbot: QtBot, db: Database) -> None:
    with db.write() as session:
        settings.set_value(session, "ack.embedded", "false", ACTOR)
    window, services = build(db, ACTOR)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: services.state.dispatcher == RUNNING, timeout=20_000)
        first = services.dispatcher
        assert first is not None and first.pid is not None
        seen: list[str] = []
        services.state_changed.connect(lambda state: seen.append(state.dispatcher))
        with qtbot.waitSignal(services.bridge.status_message, timeout=20_000,
                              check_params_cb=lambda text: "starting it again in 1 s" in text):
            os.kill(first.pid, signal.SIGKILL)
        assert services.state.dispatcher == FAILED and window.status.dispatcher.text() == "Sending: stopped"
        qtbot.waitUntil(lambda: services.state.dispatcher == RUNNING, timeout=30_000)
        again = services.dispatcher
        assert again is not None and again.alive and again.pid != first.pid
        assert seen == [FAILED, STARTING, RUNNING]
    finally:
        services.stop()
    assert services.state.dispatcher == OFF


def test_busy_port_falls_back_and_says_so(qtbot: QtBot, db: Database) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with db.write() as session:
            settings.set_value(session, "ack.port", str(port), ACTOR)
            settings.set_value(session, "dispatch.embedded", "false", ACTOR)
        window, services = build(db, ACTOR)
        qtbot.addWidget(window)
        try:
            qtbot.waitUntil(lambda: services.state.ack == RUNNING, timeout=20_000)
            assert services.state.dispatcher == OFF
            assert services.ack_url and not services.ack_url.endswith(f":{port}")
            assert any(f"port {port} is taken" in n for n in services.state.notes)
            assert window.status.dispatcher.text() == "Sending: external dispatcher"
        finally:
            services.stop()


def test_status_bar_names_the_database(qtbot: QtBot, app_window: tuple[MainWindow, Services], db: Database) -> None:
    window, services = app_window
    assert window.status.database.toolTip() == db.display_url
    text = window.status.database.text()  # long paths are shortened in the middle
    assert text.startswith("Database: sqlite:////tmp/") and text.endswith("/console.db")
    qtbot.waitUntil(lambda: services.public_url is not None, timeout=10_000)
    assert services.state.ack == OFF
    assert window.status.ack.text() == "Answers: external service at http://127.0.0.1:8765"
    assert window.status.dispatcher.text() == "Sending: external dispatcher"


def test_shortcuts_switch_views(qtbot: QtBot, app_window: tuple[MainWindow, Services]) -> None:
    window, _ = app_window
    shown(qtbot, window)
    assert [window.nav_model.index(r).data(Qt.ItemDataRole.UserRole) for r in range(7)] == PAGES
    for number, key in enumerate(PAGES, start=1):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0.value + number), Qt.KeyboardModifier.ControlModifier)
        assert window.current_key == key
        assert window.nav.currentIndex().row() == number - 1
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key == "compose"

    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.nav.visualRect(window.nav_model.index(3)).center())
    assert window.current_key == "channels"

    window.show_page("directory")
    directory = window.page("directory")
    assert isinstance(directory, DirectoryView)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(directory.filter.hasFocus, timeout=5_000)
    with qtbot.waitSignal(directory.loaded, timeout=10_000):
        qtbot.keyClick(window, Qt.Key.Key_F5)


def test_first_window_comes_before_other_pages_and_background_work(qtbot: QtBot, db: Database) -> None:
    window, services = build(db, ACTOR, embedded_services=False)
    qtbot.addWidget(window)
    try:
        assert window.made_pages == ["compose"] and window.current_key == "compose"
        assert services.tasks.holding and services.tasks.busy  # queued: the settings read, the compose lists
        assert services.public_url is None
        with qtbot.waitSignal(window.first_shown, timeout=10_000):
            window.show()
        assert not services.tasks.holding
        qtbot.waitUntil(lambda: window.made_pages == PAGES, timeout=10_000)
        qtbot.waitUntil(lambda: services.public_url is not None, timeout=10_000)
        assert window.current_key == "compose"  # made in the background, not shown
    finally:
        services.stop()


def test_a_page_is_made_when_first_asked_for(qtbot: QtBot, app_window: tuple[MainWindow, Services]) -> None:
    window, _ = app_window
    assert "audit" not in window.made_pages
    window.show_page("audit")
    assert window.current_key == "audit" and window.made_pages == ["compose", "audit"]
    assert window.stack.currentWidget() is window.page("audit") and window.stack.count() == len(PAGES)


def test_background_work_starts_even_if_the_window_is_never_shown(qtbot: QtBot, db: Database) -> None:
    window, services = build(db, ACTOR, embedded_services=False)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: services.public_url is not None, timeout=10_000)  # START_GRACE_MS
        assert not services.tasks.holding and not window.isVisible()
    finally:
        services.stop()


def test_broadcast_created_shows_it(qtbot: QtBot, app_window: tuple[MainWindow, Services]) -> None:
    window, services = app_window
    window.show_page("directory")
    services.bridge.broadcast_created.emit(42)
    assert window.current_key == "broadcasts"


def test_ctrl_q_closes_and_window_state_is_remembered(qtbot: QtBot, db: Database, qsettings_dir: Path) -> None:
    window, services = build(db, ACTOR, embedded_services=False)
    qtbot.addWidget(window)
    window.restore()
    shown(qtbot, window)
    window.showMaximized()
    window.show_page("audit")
    with qtbot.waitSignal(window.closing, timeout=5_000):  # run() quits the app on it
        qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()
    services.stop()
    assert (qsettings_dir / ORGANIZATION / f"{APPLICATION}.ini").exists()
    stored = user_store()
    assert stored.value("ui/page") == "audit" and stored.contains("window/geometry")

    again, services2 = build(db, ACTOR, embedded_services=False)
    qtbot.addWidget(again)
    try:
        again.restore()
        assert again.windowState() & Qt.WindowState.WindowMaximized
        assert again.current_key == "audit"
    finally:
        services2.stop()


def test_preferences_round_trip_geometry(qtbot: QtBot, tmp_path: Path) -> None:
    """Exact size and position (the main window's minimum size is wider than the offscreen screen)."""
    first = QMainWindow()
    qtbot.addWidget(first)
    first.setGeometry(40, 50, 640, 480)
    Preferences().save_window(first)
    second = QMainWindow()
    qtbot.addWidget(second)
    assert Preferences().restore_window(second)
    assert (second.width(), second.height()) == (640, 480)
    fresh = QMainWindow()
    qtbot.addWidget(fresh)
    assert not Preferences(QSettings(str(tmp_path / "none.ini"), QSettings.Format.IniFormat)).restore_window(fresh)


def test_settings_edit_validates_and_persists(qtbot: QtBot, app_window: tuple[MainWindow, Services],
                                              db: Database) -> None:
    window, _ = app_window
    view = window.page("settings")
    assert isinstance(view, SettingsView)
    qtbot.waitUntil(lambda: view.fields["org.name"].stored == "Crisis Console", timeout=10_000)
    url = view.fields["ack.public_url"]
    assert isinstance(url.editor, QLineEdit)
    url.editor.clear()
    qtbot.keyClicks(url.editor, "ftp://nowhere")
    assert url.error.isVisibleTo(view) and "http://" in url.error.text()
    assert not view.save_button.isEnabled()
    url.editor.setText("https://alerts.example.org/")
    assert not url.error.isVisibleTo(view) and view.save_button.isEnabled()
    name = view.fields["org.name"]
    name.editor.setText("Acme Ltd")
    embedded = view.fields["dispatch.embedded"].editor
    assert isinstance(embedded, QCheckBox)
    embedded.setChecked(False)

    with qtbot.waitSignal(view.saved, timeout=10_000) as saved:
        qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert sorted(saved.args[0]) == ["ack.public_url", "dispatch.embedded", "org.name"]
    assert "Restart" in view.banner.text()
    with db.read() as session:
        values = settings.get_all(session)
    assert (values["org.name"], values["ack.public_url"], values["dispatch.embedded"]) == (
        "Acme Ltd", "https://alerts.example.org", False)
    qtbot.waitUntil(lambda: window.org_label.text() == "Acme Ltd", timeout=10_000)
    qtbot.waitUntil(lambda: not view.save_button.isEnabled(), timeout=10_000)  # reloaded: nothing left to save


def test_theme_switch_is_applied_and_remembered(qtbot: QtBot, app_window: tuple[MainWindow, Services]) -> None:
    window, _ = app_window
    view = window.page("settings")
    assert isinstance(view, SettingsView)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    assert app.styleSheet() == resources.stylesheet("light") and view.light_radio.isChecked()
    qtbot.mouseClick(view.dark_radio, Qt.MouseButton.LeftButton)
    assert app.styleSheet() == resources.stylesheet("dark")
    assert Preferences().theme == "dark"
    view.light_radio.click()
    assert Preferences().theme == "light" and app.styleSheet() == resources.stylesheet("light")


def test_resources_are_complete() -> None:
    names = resources.icon_names()
    for needed in ("compose", "broadcasts", "directory", "channels", "templates", "audit", "settings", "logo",
                   "severity-info", "severity-warning", "severity-critical"):
        assert needed in names
    for name in names:
        assert not resources.icon(name).isNull()
    for theme in resources.THEMES:
        assert "QListView#nav" in resources.stylesheet(theme)
