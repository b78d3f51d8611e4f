"""Screenshots of the desktop console on a real X server (Xvfb), in the light and the dark theme.

Not a test (pytest collects only test_*.py): run it by hand after changing the look:

    python tests/screenshots.py [--out resources/screenshots] [--display :99]

It starts `Xvfb :99 -screen 0 1440x900x24 -nolisten tcp`, opens the app with
QT_QPA_PLATFORM=xcb on a demo database in a temporary folder (console.gui.demo:
200 people, templates, a loopback mail sink), sends two broadcasts through the
embedded dispatcher, records some answers through the acknowledgement
service's own writer, then shows every view and saves a PNG of each; last, the incident picture
(an update sent, a person who needs help with a note) and the "Mark handled" flow.
Nothing outside the temporary folder and the output folder is touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from console.gui.mainwindow import MainWindow
    from console.mailsink import MailSink
    from console.storage import Database

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("compose", "broadcasts", "directory", "channels", "templates", "audit", "settings")
DARK_PAGES = ("compose", "broadcasts", "directory", "audit")
ACTOR = "comms.officer"
_Page = TypeVar("_Page")


def page_of(window: MainWindow, key: str, kind: type[_Page]) -> _Page:
    """The page `key` as its view class (MainWindow.page only promises a QWidget)."""
    widget = window.page(key)
    assert isinstance(widget, kind), f"page {key!r} is a {type(widget).__name__}, not a {kind.__name__}"
    return widget


def start_xvfb(display: str) -> subprocess.Popen[bytes]:
    number = display.lstrip(":")
    if Path(f"/tmp/.X11-unix/X{number}").exists():
        raise SystemExit(f"display {display} is in use; pass --display :N with a free N")
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("Xvfb is not installed (Debian: apt-get install xvfb)")
    server = subprocess.Popen([xvfb, display, "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("Xvfb did not start")
        time.sleep(0.05)
    return server


def isolate(folder: Path, display: str) -> None:
    """A private environment: the X server, the key, user dirs and QSettings all in `folder`."""
    from cryptography.fernet import Fernet

    os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    os.environ.setdefault("CRISIS_CONSOLE_KEY", Fernet.generate_key().decode())
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        (folder / var.lower()).mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(folder / var.lower())
    os.environ.pop("CRISIS_CONSOLE_DB", None)


def main() -> int:
    return on_xvfb(__doc__ or "", ":99", "crisis-shots-", lambda shooter, _workdir: shooter.run())


def on_xvfb(doc: str, display: str, prefix: str, shoot: Callable[[Shooter, Path], int]) -> int:
    """Parse --out/--display, start Xvfb, isolate a work folder, run `shoot`; the script's exit status."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    parser.add_argument("--display", default=display)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    server = start_xvfb(args.display)
    try:
        isolate(workdir, args.display)
        return shoot(Shooter(workdir, args.out), workdir)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


class Shooter:
    def __init__(self, workdir: Path, out: Path) -> None:
        from PySide6.QtCore import QSettings

        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(workdir / "qsettings"))
        self.workdir = workdir
        self.out = out
        out.mkdir(parents=True, exist_ok=True)

    # -- helpers ------------------------------------------------------------------------
    def pump(self, seconds: float) -> None:
        from PySide6.QtCore import QCoreApplication

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            QCoreApplication.processEvents()
            time.sleep(0.01)

    def wait(self, condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
        from PySide6.QtCore import QCoreApplication

        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise SystemExit(f"timed out waiting for {what}")
            QCoreApplication.processEvents()
            time.sleep(0.02)

    def save(self, widget: QWidget, name: str) -> None:
        from PySide6.QtGui import QGuiApplication

        self.pump(0.6)
        window = widget.window()
        screen = window.screen() or QGuiApplication.primaryScreen()
        image = screen.grabWindow(window.winId())
        if image.isNull() or image.width() < 10:
            image = window.grab()
        path = self.out / f"{name}.png"
        image.save(str(path))
        print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    # -- the scene ------------------------------------------------------------------------
    def run(self) -> int:
        from console.gui.app import application, build
        from console.gui.demo import prepare_demo
        from console.gui.services import RUNNING

        app = application()
        demo = prepare_demo(self.workdir / "demo.db")
        db = demo.db
        self.add_channels(db)
        window, services = build(db, ACTOR)
        window.setGeometry(0, 0, 1440, 900)
        window.show()
        try:
            self.wait(lambda: services.state.ack == RUNNING and services.state.dispatcher == RUNNING,
                      what="the embedded services")
            self.broadcasts(db, window, demo.sink)
            from console.gui.views.settings import SettingsView

            theme = page_of(window, "settings", SettingsView).theme
            for name in ("light", "dark"):
                theme.set_theme(name)
                for page in PAGES if name == "light" else DARK_PAGES:
                    self.show(window, page)
                    self.save(window, f"{name}-{page}")
            theme.set_theme("light")
            self.dialogs(window)
            self.incident(db, window, demo.sink)
        finally:
            window.close()
            services.stop()
            demo.close()
            db.dispose()
        app.processEvents()
        return 0

    def add_channels(self, db: Database) -> None:
        from console.channelstore import save_channel

        box = db.secrets
        with db.write() as session:
            save_channel(session, box, ACTOR, name="Staff SMS", kind="sms",
                         url="twilio://AC00000000000000000000000000000000:token0000000000000000000000000000"
                             "@+15551234567/{address}", rate_per_sec=10)
            save_channel(session, box, ACTOR, name="IT on-call room", kind="group", group="IT on-call",
                         url="slack://T0000AAAA/B0000BBBB/xoxbTokenCCCCCCCCCCCCCCCC/#it-oncall")
            save_channel(session, box, ACTOR, name="Old pager gateway", kind="sms",
                         url="json://pager.example.org/send/{address}")
        with db.write() as session:
            from sqlalchemy import select

            from console.channelstore import remove_channel
            from console.models import Channel

            old = session.scalar(select(Channel.id).where(Channel.name == "Old pager gateway"))
            assert old is not None
            remove_channel(session, ACTOR, old)

    def broadcasts(self, db: Database, window: MainWindow, sink: MailSink) -> None:
        from sqlalchemy import select

        from console.acks.recorder import AnswerRequest, GroupCommitRecorder
        from console.broadcast.send import SAFETY_CHECK, BroadcastRequest, create_broadcast
        from console.gui.views.broadcast.dashboard import BroadcastsView
        from console.models import Recipient

        bridge = page_of(window, "broadcasts", BroadcastsView).bridge
        box = db.secrets
        with db.write() as session:
            drill = create_broadcast(session, box, BroadcastRequest(
                title="Quarterly evacuation drill", body="This is a drill. Walk to your assembly point.",
                groups=["Site: Bristol"], channels=["Demo mail"], options=list(SAFETY_CHECK), exercise=True),
                ACTOR).broadcast_id
        bridge.broadcast_created.emit(drill)
        self.wait(lambda: sink.count >= 1, what="the drill mail")
        with db.write() as session:
            fire = create_broadcast(session, box, BroadcastRequest(
                title="Fire alarm: leave the Leeds office now",
                body="The fire alarm is sounding in **Leeds**. Leave by the nearest exit and go to the car park.",
                groups=["Site: Leeds"], channels=["Demo mail"], severity="critical", options=list(SAFETY_CHECK)),
                ACTOR).broadcast_id
        bridge.broadcast_created.emit(fire)
        with db.read() as session:
            people = list(session.scalars(select(Recipient.id).where(Recipient.broadcast_id == fire)
                                          .order_by(Recipient.id)))
        self.wait(lambda: sink.count >= len(people), timeout=60, what="the fire alarm mail")
        recorder = GroupCommitRecorder(db)  # the acknowledgement service's own writer (audited)
        recorder.start()
        try:
            for start, share in ((0, 0.25), (0.25, 0.45), (0.45, 0.62)):
                chosen = people[int(len(people) * start):int(len(people) * share)]
                futures = [recorder.submit(AnswerRequest(rid, "I need help" if i % 17 == 3 else "I'm safe",
                                                         "203.0.113.7")) for i, rid in enumerate(chosen)]
                for future in futures:
                    future.result(30)
                bridge.answers_recorded.emit(fire)
                self.pump(1.2)
        finally:
            recorder.stop()
        self.fire = fire

    def show(self, window: MainWindow, page: str) -> None:
        from console.gui.views.audit import AuditView
        from console.gui.views.broadcast.compose import ComposeView
        from console.gui.views.broadcast.dashboard import BroadcastsView
        from console.gui.views.channels import ChannelsView
        from console.gui.views.directory import DirectoryView
        from console.gui.views.templates import TemplatesView

        window.show_page(page)
        if page == "broadcasts":
            page_of(window, page, BroadcastsView).select_broadcast(self.fire)
            self.pump(1.5)
        elif page == "directory":
            directory = page_of(window, page, DirectoryView)
            self.wait(lambda: directory.contacts.rowCount() > 0, what="contacts")
            directory.select_group("Site: Leeds")
            directory.contacts_table.selectRow(2)
        elif page == "channels":
            channels = page_of(window, page, ChannelsView)
            self.wait(lambda: channels.model.rowCount() > 0, what="channels")
            channels.select_channel("Demo mail")
        elif page == "templates":
            templates = page_of(window, page, TemplatesView)
            self.wait(lambda: templates.model.rowCount() > 0, what="templates")
            templates.select_template(templates.model.row(0).id)
        elif page == "audit":
            audit = page_of(window, page, AuditView)
            audit.refresh()
            self.pump(0.5)
            audit.verify()
            self.wait(lambda: audit.banner.tone in ("ok", "error"), what="verification")
            helped = audit.model.find(lambda r: r.action == "help.opened")  # the detail pane: a whole entry
            audit.select_row(max(helped, 0))
        elif page == "compose":
            compose = page_of(window, page, ComposeView)
            compose.title_edit.setText("Network outage: email and VPN are down")
            compose.body_edit.setPlainText("Email and VPN are unavailable. Use Teams for urgent matters.\n\n"
                                           "We will send an update within the hour.")
            compose.select(groups=["all"])
        self.pump(1.0)

    def dialogs(self, window: MainWindow) -> None:
        bad = self.workdir / "staff.csv"
        bad.write_text("name,email,phone,groups\nAda Lovelace,ada@example.org,,Leeds\n,nobody@example.org,,\n"
                       "Alan Turing,not-an-email,,\nGrace Hopper,ada@example.org,,\n", encoding="utf-8")
        from console.gui.views.channels import ChannelsView
        from console.gui.views.directory import DirectoryView

        window.show_page("directory")
        directory = page_of(window, "directory", DirectoryView)
        directory.import_csv(bad)
        self.wait(lambda: directory.problems_dialog is not None and directory.problems_dialog.isVisible(),
                  what="the import problems")
        problems = directory.problems_dialog
        assert problems is not None
        problems.move(340, 200)
        self.save(problems, "light-dialog-csv-problems")
        problems.reject()

        window.show_page("channels")
        channels = page_of(window, "channels", ChannelsView)
        channels.select_channel("Demo mail")
        channels.open_test()
        dialog = channels.test_dialog
        assert dialog is not None
        dialog.address.setText("duty.officer@demo.example")
        dialog.send_button.click()
        self.wait(lambda: dialog.outcome.tone in ("ok", "error"), what="the test send")
        dialog.move(420, 260)
        self.save(dialog, "light-dialog-channel-test")
        dialog.reject()

        channels.add_channel()
        edit = channels.channel_dialog
        assert edit is not None
        edit.name.setText("Broken")
        edit.url.setText("nonsense-without-scheme")
        edit.save_button.click()
        self.wait(lambda: edit.error.isVisible(), what="the URL error")
        edit.move(420, 180)
        self.save(edit, "light-dialog-channel-error")
        edit.reject()

    def incident(self, db: Database, window: MainWindow, sink: MailSink) -> None:
        """The fire alarm's incident after an update: who needs help (with their note), then handled."""
        from sqlalchemy import select

        from console.acks.recorder import AnswerRequest, GroupCommitRecorder
        from console.gui.views.broadcast.dashboard import BroadcastsView
        from console.gui.views.broadcast.dialogs import NoteDialog
        from console.models import Recipient
        from console.services import broadcasts
        from console.vocabulary import AnswerSource, BroadcastKind

        view = page_of(window, "broadcasts", BroadcastsView)
        base = broadcasts.follow_up_base(db, self.fire)
        update = broadcasts.send(db, broadcasts.follow_up_request(
            base, BroadcastKind.UPDATE, "Update: stay at the car park",
            "The fire service is on site. Stay at the car park; do not go back in."), ACTOR)
        view.bridge.broadcast_created.emit(update.broadcast_id)
        self.wait(lambda: sink.count >= 2 * update.recipients, timeout=60, what="the update mail")
        with db.read() as session:
            last = session.scalars(select(Recipient.id).where(Recipient.broadcast_id == self.fire,
                                                              Recipient.answered_at.is_(None))
                                   .order_by(Recipient.id.desc())).first()
        assert last is not None
        recorder = GroupCommitRecorder(db)
        recorder.start()
        try:
            recorder.submit(AnswerRequest(last, "I need help", "203.0.113.9", AnswerSource.PERSONAL,
                                          "Stuck in the lift between floors 2 and 3, two of us")).result(30)
        finally:
            recorder.stop()
        window.show_page("broadcasts")
        panel = view.incident_panel
        view.select_incident(update.incident_id, update.broadcast_id)
        self.wait(lambda: panel.picture is not None and panel.picture.incident.messages == 2
                  and panel.picture.incident.counts.needs_help_open > 0, what="the incident picture")
        with db.read() as session:
            email = session.scalar(select(Recipient.email).where(Recipient.id == last))
        assert email is not None
        self.wait(lambda: panel.select_person(email), what="the person who needs help")
        self.save(view, "light-incident")

        dialog = NoteDialog(panel.tr("Mark the help request handled"),
                            f"What was done for {panel.people.row(panel.people.find_email(email)).name}?\n"
                            "They said: “Stuck in the lift between floors 2 and 3, two of us”",
                            "e.g. Called, fire warden with them", "Mark handled", view)
        dialog.note_edit.setPlainText("Called them; the lift engineer freed both, checked by first aid")
        dialog.show()
        dialog.move(480, 300)
        self.save(dialog, "light-dialog-mark-handled")
        note = dialog.text()
        dialog.reject()
        panel.ask_note = lambda person: note
        panel.handle_button.click()
        self.wait(lambda: panel.picture is not None and any(
            p.email == email and p.help is not None and p.help.state == "handled" for p in panel.picture.people),
            what="the handled request")
        panel.filter_box.setCurrentIndex(panel.proxy.MODES.index("handled"))
        self.wait(lambda: panel.select_person(email), what="the handled person")
        self.save(view, "light-incident-handled")


if __name__ == "__main__":
    sys.exit(main())
