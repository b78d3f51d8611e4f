"""The demo: its own database with demo people, a loopback mail sink, and the Inbox (demo) window."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from console import settings
from console.broadcast.dispatcher import DispatchConfig, Dispatcher
from console.broadcast.send import SAFETY_CHECK, BroadcastRequest, create_broadcast
from console.channelstore import list_channels
from console.directory.service import list_groups
from console.gui.demo import DEMO_CHANNEL, DemoSetup, prepare_demo
from console.models import Contact
from console.templates import list_templates

pytestmark = pytest.mark.gui


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoSetup]:
    setup = prepare_demo(tmp_path / "demo.db")
    yield setup
    setup.close()
    setup.db.dispose()


def test_first_run_seeds_people_templates_and_points_mail_at_the_sink(demo: DemoSetup, tmp_path: Path) -> None:
    with demo.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 200
        groups = {g.name: g.members for g in list_groups(session)}
        channels = {c.name: c for c in list_channels(session)}
        values = settings.get_all(session)
        templates = [t.name for t in list_templates(session)]
    assert groups["all"] == 200 and {"Site: Leeds", "Site: Bristol", "Site: Glasgow", "IT on-call"} <= set(groups)
    assert f"127.0.0.1:{demo.sink.port}" in channels[DEMO_CHANNEL].url
    assert values["ack.public_url"] == demo.public_url == f"http://127.0.0.1:{demo.ack_port}"
    assert (values["ack.host"], values["ack.port"]) == ("127.0.0.1", demo.ack_port)
    assert "Fire evacuation" in templates

    demo.close()  # a second start: nothing seeded twice, the channel follows the new sink port
    again = prepare_demo(tmp_path / "demo.db")
    try:
        with again.db.read() as session:
            assert session.scalar(select(func.count()).select_from(Contact)) == 200
            assert len(list_templates(session)) == len(templates)
            (channel,) = [c for c in list_channels(session) if c.name == DEMO_CHANNEL]
        assert f"127.0.0.1:{again.sink.port}" in channel.url
        assert again.ack_port == demo.ack_port  # still free: old links keep working
    finally:
        again.close()
        again.db.dispose()


def test_inbox_shows_demo_mail_with_a_clickable_answer_link(qtbot: QtBot, demo: DemoSetup) -> None:
    inbox = demo.show_inbox()
    qtbot.addWidget(inbox)
    opened: list[QUrl] = []
    inbox.open_url = opened.append
    assert inbox.model.rowCount() == 0
    box = demo.db.secrets
    with demo.db.write() as session:
        sent = create_broadcast(session, box, BroadcastRequest(
            title="Fire alarm", body="Leave now.", groups=["IT on-call"], options=list(SAFETY_CHECK),
            exercise=True), "demo")
    dispatcher = Dispatcher(demo.db, DispatchConfig(workers=2, idle_poll=0.05)).start()
    try:
        with qtbot.waitSignal(inbox.mail_shown, timeout=20_000):
            pass
        qtbot.waitUntil(lambda: inbox.model.rowCount() == sent.recipients, timeout=20_000)
    finally:
        dispatcher.stop()
    text = inbox.reader.toPlainText()
    assert "[EXERCISE] Fire alarm" in text and "I need help" in text
    link = re.search(re.escape(demo.public_url) + r"/a/[A-Za-z0-9_-]{32}", text)
    assert link is not None and f'href="{link.group(0)}"' in inbox.reader.toHtml()
    inbox.open_answer_link()
    inbox.reader.anchorClicked.emit(QUrl(link.group(0)))
    assert [u.toString() for u in opened] == [link.group(0)] * 2


@pytest.mark.slow
def test_demo_send_from_compose_reaches_the_inbox_and_an_answer_shows_live(qtbot: QtBot, demo: DemoSetup,
                                                                           tmp_path: Path) -> None:
    """The newcomer's walk: Compose → the demo inbox → open the link, answer → the live view."""
    import html

    import requests
    from PySide6.QtCore import QSettings

    from console.gui.app import build
    from console.gui.prefs import Preferences
    from console.gui.services import RUNNING
    from console.gui.views.broadcast.compose import ComposeView
    from console.gui.views.broadcast.dashboard import BroadcastsView
    from console.gui.views.inbox import answer_links

    window, services = build(demo.db, "demo-officer",
                             prefs=Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(window)
    inbox = demo.show_inbox()
    qtbot.addWidget(inbox)
    try:
        qtbot.waitUntil(lambda: services.state.ack == RUNNING and services.state.dispatcher == RUNNING,
                        timeout=20_000)
        compose, broadcasts = window.page("compose"), window.page("broadcasts")
        assert isinstance(compose, ComposeView) and isinstance(broadcasts, BroadcastsView)
        qtbot.waitUntil(lambda: compose.groups.rowCount() > 0, timeout=10_000)
        compose.confirm = lambda text: True
        compose.title_edit.setText("Power cut in the IT room")
        compose.body_edit.setPlainText("Stay away from the racks until facilities give the all-clear.")
        compose.use_safety_check()
        compose.select(groups=["IT on-call"])
        with qtbot.waitSignal(compose.bridge.broadcast_created, timeout=20_000):
            compose.send()
        qtbot.waitUntil(lambda: inbox.model.rowCount() == 13, timeout=30_000)  # IT on-call has 13 people
        mail = inbox.model.mail(0)
        (link,) = answer_links(mail)
        assert link.startswith(demo.public_url + "/a/")
        page = requests.get(link, timeout=10)
        check = re.search(r'name="check" value="([^"]*)"', page.text)
        assert page.status_code == 200 and check is not None
        assert requests.post(link, data={"check": html.unescape(check.group(1)), "answer": "I'm safe"},
                             timeout=10).status_code == 200
        model = broadcasts.recipients
        # The view refreshes on the service's answers_recorded signal: typically well under a second
        # (under 1 s when this test was written); the timeout only bounds a stuck test.
        qtbot.waitUntil(lambda: any(model.row(r).answer == "I'm safe" for r in range(model.rowCount())),
                        timeout=5_000)
    finally:
        services.stop()
