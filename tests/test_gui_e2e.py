"""End to end through the real window: Compose → outbox → embedded dispatcher → real SMTP →
personal link → embedded acknowledgement service → the live recipients table.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from console import settings
from console.gui.app import build
from console.gui.models.recipients import RecipientsFilter, RecipientsModel
from console.gui.prefs import Preferences
from console.gui.services import RUNNING
from console.gui.views.broadcast.compose import ComposeView
from console.gui.views.broadcast.dashboard import BroadcastsView
from console.mailsink import MailSink
from console.storage import Database
from tests.helpers.gui import ACTOR, seed

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def db(sqlite_url: str, mail_sink: MailSink) -> Iterator[Database]:
    database = Database(sqlite_url)
    seed(database, 3, smtp_port=mail_sink.port)
    with database.write() as session:
        settings.set_value(session, "ack.host", "127.0.0.1", ACTOR)
        settings.set_value(session, "ack.port", "0", ACTOR)
    yield database
    database.dispose()


def test_compose_to_answer_shown_live(qtbot: QtBot, db: Database, mail_sink: MailSink, tmp_path: Path) -> None:
    prefs = Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))
    window, services = build(db, ACTOR, prefs=prefs)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: services.state.ack == RUNNING and services.state.dispatcher == RUNNING,
                        timeout=20_000)
        ack_url = services.ack_url
        assert ack_url and ack_url.startswith("http://127.0.0.1:")
        with db.write() as session:  # port 0: the links can only name the port once it is bound
            settings.set_value(session, "ack.public_url", ack_url, ACTOR)

        compose = window.page("compose")
        broadcasts = window.page("broadcasts")
        assert isinstance(compose, ComposeView) and isinstance(broadcasts, BroadcastsView)
        qtbot.waitUntil(lambda: compose.groups.rowCount() > 0, timeout=10_000)
        compose.confirm = lambda text: "3 people" in text
        compose.title_edit.setText("Fire alarm in building A")
        compose.body_edit.setPlainText("Leave by the **nearest** exit.")
        compose.use_safety_check()
        compose.select(groups=["all"])
        with qtbot.waitSignal(compose.bridge.broadcast_created, timeout=20_000) as created:
            compose.send()
        broadcast_id = created.args[0]
        qtbot.waitUntil(lambda: broadcasts.broadcast_id == broadcast_id, timeout=10_000)
        assert window.current_key == "broadcasts"

        qtbot.waitUntil(lambda: mail_sink.count == 3, timeout=30_000)
        mail = next(m for m in mail_sink.messages if m.rcpt_tos == ("person1@example.org",))
        link = re.search(re.escape(ack_url) + r"/a/[A-Za-z0-9_-]{32}", mail.text)
        assert link is not None, mail.text
        page = requests.get(link.group(0), timeout=10)
        assert page.status_code == 200 and "Fire alarm in building A" in page.text
        check = re.search(r'name="check" value="([^"]*)"', page.text)
        assert check is not None
        answered = requests.post(link.group(0), data={"check": html.unescape(check.group(1)),
                                                       "answer": "I need help"}, timeout=10)
        assert answered.status_code == 200

        model = broadcasts.recipients
        def shown() -> bool:
            rows = [model.row(r) for r in range(model.rowCount())]
            return any(r.email == "person1@example.org" and r.answer == "I need help" for r in rows) \
                and all(r.state == "sent" for r in rows)
        # Found by the view's own reads (timer and bridge). The counts and the rows are two reads:
        # the bars may trail the rows by one refresh, so wait for both.
        qtbot.waitUntil(lambda: shown() and broadcasts.bars["delivered"].value() == 3
                        and broadcasts.bars["answered"].value() == 1, timeout=20_000)
        broadcasts.filter_box.setCurrentIndex(RecipientsFilter.MODES.index("needs_help"))
        assert broadcasts.proxy.rowCount() == 1
        assert broadcasts.proxy.index(0, RecipientsModel.EMAIL).data() == "person1@example.org"
        assert broadcasts.chart.points("I need help")[-1][1] == 1
    finally:
        services.stop()
