"""`crisis-console --demo`: a separate database with demo people, and mail that never leaves the machine.

The demo keeps its own SQLite file (console.storage.paths.demo_database_path),
filled on first run with ~200 people from resources/demo/people.csv and a few
templates. A loopback SMTP sink (console.mailsink.MailSink) receives what the
"Demo mail" channel sends; the "Inbox (demo)" window shows it, and its answer
links lead to the embedded acknowledgement service on 127.0.0.1.

Use from app.py::

    demo = prepare_demo()            # before build(): gives demo.db
    ...                               # QApplication and the main window exist
    demo.show_inbox()                 # the inbox window; demo.close() on exit
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from console.gui import resources
from console.mailsink import MailSink
from console.services import demo as service
from console.storage import Database, SecretKeyError
from console.storage.paths import demo_database_path
from console.vocabulary import Severity

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from console.gui.views.inbox import InboxWindow

log = logging.getLogger("console.gui.demo")

DEMO_ACTOR = "demo"
DEMO_CHANNEL = "Demo mail"
DEMO_ORG = "Demo Ltd"
ACK_HOST = "127.0.0.1"
PEOPLE_FILE = ("demo", "people.csv")
TEMPLATES = (
    {"name": "Fire evacuation", "title": "Fire alarm: leave the building now", "severity": Severity.CRITICAL.value,
         "options": ["I'm safe", "I need help"],
         "body": "The fire alarm is sounding in your building.\n\n- Leave by the **nearest exit**; do not use lifts.\n"
              "- Go to your assembly point.\n- Answer below so we know you are safe."},
    {"name": "IT outage", "title": "Email and VPN are down", "severity": Severity.WARNING.value,
         "options": ["Acknowledge"],
         "body": "Email and VPN are unavailable. Use Teams for urgent matters. "
                 "We will send an update within the hour."},
    {"name": "Severe weather", "title": "Storm warning: work from home tomorrow",
         "severity": Severity.WARNING.value,
         "options": ["Acknowledge"],
         "body": "A severe storm is forecast overnight. **All offices stay closed tomorrow**; please work from home."},
)


@dataclass
class DemoSetup:
    """What the demo prepared: its database, the running mail sink and where answers are served.

    Attributes:
        db: the demo database (pass it to build()).
        sink: the loopback SMTP server the "Demo mail" channel sends to.
        ack_port: where the embedded acknowledgement service is set to listen.
        public_url: the base of the answer links in demo mail.
        notes: things to tell the person (e.g. an old demo database was replaced).
    """

    db: Database
    sink: MailSink
    ack_port: int
    public_url: str
    notes: list[str] = field(default_factory=list)
    _inbox: InboxWindow | None = None

    def show_inbox(self, parent: QWidget | None = None) -> InboxWindow:
        """Create (once) and show the Inbox (demo) window; call after QApplication exists."""
        import shiboken6

        from console.gui.views.inbox import InboxWindow

        if self._inbox is None or not shiboken6.isValid(self._inbox):
            self._inbox = InboxWindow(self.sink, parent)
        self._inbox.show()
        self._inbox.raise_()
        return self._inbox

    def close(self) -> None:
        """Stop the sink (the database stays for the next demo run)."""
        self.sink.on_message = None
        self.sink.stop()


def prepare_demo(path: Path | None = None) -> DemoSetup:
    """Open (and on first run fill) the demo database, start the mail sink, point the demo at it."""
    path = path or demo_database_path()
    notes: list[str] = []
    db = Database(f"sqlite:///{path}")
    try:
        db.secrets  # noqa: B018 - a demo database sealed with another key is replaced, not kept
    except SecretKeyError:
        db.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        notes.append("the old demo database was sealed with another key: a fresh one was made")
        db = Database(f"sqlite:///{path}")
        db.secrets  # noqa: B018
    sink = MailSink(host="127.0.0.1", port=0).start()
    try:
        port = _free_port(service.ack_port(db))
        public_url = f"http://{ACK_HOST}:{port}"
        content = service.DemoContent(
            people_csv=resources.read_text(*PEOPLE_FILE).encode("utf-8"), people_label="/".join(PEOPLE_FILE),
            templates=TEMPLATES, channel=DEMO_CHANNEL, org_name=DEMO_ORG, actor=DEMO_ACTOR)
        service.set_up(db, content, ack_host=ACK_HOST, port=port,
                       mail_url=f"mailto://127.0.0.1:{sink.port}?from=alerts@demo.example&to={{address}}&mode=insecure")
    except BaseException:
        sink.stop()
        db.dispose()
        raise
    log.info("demo on %s: mail sink on 127.0.0.1:%d, answers at %s", path, sink.port, public_url)
    return DemoSetup(db, sink, port, public_url, notes)


def _free_port(preferred: int) -> int:
    """The port used last time if it is free (old demo links keep working), else any free one."""
    for candidate in ((preferred, 0) if preferred else (0,)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((ACK_HOST, candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free port for the acknowledgement service on 127.0.0.1")
