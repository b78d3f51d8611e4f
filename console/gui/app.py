"""Builds the desktop application's objects and wires their signals: the only place that does.

Everything else receives what it needs through its constructor: the database,
the actor (for the audit log), the TaskRunner for blocking work and the Bridge
for events.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from console.audit import default_actor
from console.errors import ConsoleError
from console.gui import pages as views
from console.gui.bridge import Bridge
from console.gui.gcpolicy import CollectWhenIdle
from console.gui.mainwindow import MainWindow, Page
from console.gui.prefs import APPLICATION, ORGANIZATION, Preferences
from console.gui.readonly import badge, lock, mark_writes
from console.gui.services import Services
from console.gui.tasks import TaskRunner
from console.gui.theme import ThemeController
from console.services import settings
from console.storage import Database, ReadOnlyModeError, open_database, read_only_requested

log = logging.getLogger("console.gui")

START_GRACE_MS = 1500
"""Background work starts when the window is first on screen, or this long after build at the latest."""


def _tr(text: str) -> str:
    return QCoreApplication.translate("app", text)


def application() -> QApplication:
    """The QApplication, created with the names QSettings and the window system use."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(_tr("Crisis Console"))
    app.setDesktopFileName(APPLICATION)
    return app


def build(db: Database, actor: str, *, embedded_services: bool = True,
          prefs: Preferences | None = None) -> tuple[MainWindow, Services]:
    """Create and wire the window, its views and the embedded services (started in the background).

    A database opened read-only gives an auditor's console: every page, with its sending and
    editing controls taken away (console.gui.readonly), a "read-only" badge, and no embedded
    dispatcher or answer service whatever `embedded_services` says.

    Args:
        db: the open database.
        actor: who acts, for the audit log.
        embedded_services: start the dispatcher and acknowledgement service (subject to their settings).
        prefs: desktop preferences (default: the user's QSettings).
    """
    read_only = db.read_only
    embedded_services = embedded_services and not read_only
    app = application()
    prefs = prefs or Preferences()
    theme = ThemeController(app, prefs)
    theme.apply()
    tasks = TaskRunner()
    bridge = Bridge()
    tasks.hold()
    services = Services(db, bridge, tasks, embedded=embedded_services)

    common = (db, actor, tasks, bridge)
    pages = _pages(common, theme)
    if read_only:
        pages = [Page(p.key, p.title, p.icon, _locked(p.make)) for p in pages]
    window = MainWindow(pages, db.display_url, prefs)
    if read_only:
        mark_writes(window.new_action)
        lock(window)
        window.status.insertPermanentWidget(0, badge(window.status))
        window.status.dispatcher.hide()  # nothing is sent or answered through a read-only console
        window.status.ack.hide()
        window.setWindowTitle(_tr("Crisis Console (read-only)"))
    for owned in (tasks, bridge, services, theme):
        owned.setParent(window)

    def show_broadcast(broadcast_id: int) -> None:
        window.show_page("broadcasts")
        window.page("broadcasts").select_broadcast(broadcast_id)  # type: ignore[attr-defined]

    def on_screen() -> None:
        tasks.release()
        window.make_remaining_pages()

    def load_org_name() -> None:
        def work() -> str:
            return str(settings.get(db, "org.name"))

        tasks.run(work, window.set_org_name, lambda _exc: None)

    bridge.broadcast_created.connect(lambda _id: services.wake())
    bridge.broadcast_created.connect(show_broadcast)
    bridge.status_message.connect(window.show_message)
    bridge.data_changed.connect(lambda kind: load_org_name() if kind == "settings" else None)
    tasks.busy_changed.connect(window.status.set_busy)
    tasks.unhandled.connect(window.show_message)
    services.state_changed.connect(window.status.set_services)
    window.status.set_services(services.state)
    load_org_name()
    services.start()
    # Reads and service start-up wait until the window is on screen (or a moment, if it is
    # never shown): worker threads would compete with the window's building for the GIL.
    window.first_shown.connect(on_screen)
    QTimer.singleShot(START_GRACE_MS, window, tasks.release)
    collector = CollectWhenIdle(lambda: tasks.busy, window)  # full collections only when idle (gcpolicy)
    for live in (bridge.deliveries_recorded, bridge.answers_recorded, bridge.broadcast_created):
        live.connect(collector.activity)
    window.pages_made.connect(collector.freeze)  # the rest of start-up
    services.state_changed.connect(collector.freeze)
    return window, services


def _pages(common: tuple[Database, str, TaskRunner, Bridge], theme: ThemeController) -> list[Page]:
    return [
        Page("compose", _tr("Compose"), "compose", lambda: views.make("broadcast.compose", "ComposeView", *common)),
        Page("broadcasts", _tr("Broadcasts"), "broadcasts",
             lambda: views.make("broadcast.dashboard", "BroadcastsView", *common)),
        Page("directory", _tr("Directory"), "directory", lambda: views.make("directory", "DirectoryView", *common)),
        Page("channels", _tr("Channels"), "channels", lambda: views.make("channels", "ChannelsView", *common)),
        Page("templates", _tr("Templates"), "templates", lambda: views.make("templates", "TemplatesView", *common)),
        Page("audit", _tr("Audit log"), "audit", lambda: views.make("audit", "AuditView", *common)),
        Page("settings", _tr("Settings"), "settings",
             lambda: views.make("settings", "SettingsView", *common, theme)),
    ]


def _locked(make: Callable[[], QWidget]) -> Callable[[], QWidget]:
    """A page maker whose page comes with its write controls taken away (read-only mode)."""
    return lambda: lock(make())


def _quit_on_interrupt(app: QApplication) -> None:
    """Ctrl+C in the terminal, or a SIGTERM (logout, `kill`), closes the app cleanly (services stopped).

    Python runs signal handlers only between bytecodes; a timer lets it in while Qt waits.
    The quit is queued: a signal that comes before the event loop runs still ends it.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: QTimer.singleShot(0, app.quit))
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(300)


def run(db_url: str | None, demo: bool, actor: str | None, read_only: bool = False) -> int:
    """`crisis-console gui`: open the database (or the demo), show the window, run until it closes.

    `read_only` (or env CRISIS_CONSOLE_READ_ONLY=1): an existing database, opened for reading only;
    its secret key is not needed to open it (an auditor may not hold it).
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = application()
    setup = None
    try:
        read_only = read_only_requested(read_only)
        if read_only and demo:
            raise ReadOnlyModeError("--read-only and --demo do not go together: the demo writes its own database")
        if read_only:
            db = open_database(db_url, create=False, read_only=True)
        elif demo:
            from console.gui.demo import prepare_demo  # the demo's mail sink needs aiosmtpd

            setup = prepare_demo()
            db = setup.db
        else:
            db = open_database(db_url)
        if not read_only:
            db.secrets  # noqa: B018 - a wrong key is said now, not at the first send
    except ConsoleError as exc:
        QMessageBox.critical(None, _tr("Crisis Console"), str(exc))
        return 1
    window, services = build(db, actor or default_actor())
    app.aboutToQuit.connect(services.stop)
    window.closing.connect(app.quit)
    _quit_on_interrupt(app)
    window.restore()
    window.show()
    if setup is not None:
        app.aboutToQuit.connect(setup.close)
        setup.show_inbox()
        for note in setup.notes:
            window.show_message(note)
    status = app.exec()
    db.dispose()
    return status
